// Reading and writing configs: the only user of yaml-cpp.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fields.h"
#include "rosetta/error.h"

namespace rosetta {

using config_detail::Field;

namespace {

// Leaves of the YAML tree under dotted keys, with their line numbers.
void flatten(const YAML::Node& node, const std::string& prefix,
             std::vector<std::pair<std::string, YAML::Node>>& out) {
  for (const auto& item : node) {
    const std::string key = prefix + item.first.as<std::string>();
    if (item.second.IsMap()) flatten(item.second, key + ".", out);
    else out.emplace_back(key, item.second);
  }
}

Field* find(std::vector<Field>& fields, const std::string& key) {
  for (Field& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

void apply(std::vector<Field>& fields, const std::string& key, const YAML::Node& value,
           const std::string& where) {
  Field* field = find(fields, key);
  if (field == nullptr) {
    // Name the section's known keys: a typo is the usual cause.
    std::string known;
    const std::string section = key.substr(0, key.find('.') + 1);
    for (const Field& f : fields)
      if (f.key.rfind(section, 0) == 0) known += (known.empty() ? "" : ", ") + f.key;
    throw Error(concat(where, ": unknown key '", key, "'",
                       known.empty() ? "" : " (known in this section: " + known + ")"));
  }
  try {
    field->set(value);
  } catch (const Error& e) {
    throw Error(concat(where, ": ", key, ": ", e.what()));
  }
}

}  // namespace

Config parse_config(const std::string& yaml, const std::string& origin,
                    const std::vector<std::string>& overrides) {
  Config config;
  std::vector<Field> fields = config_detail::fields(config);
  std::vector<std::pair<std::string, std::string>> given;  // keys set, and where
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(concat(origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": malformed YAML: ", e.msg));
  }
  if (root && !root.IsNull()) {
    if (!root.IsMap()) throw Error(concat(origin, ": the top level must be a map of sections"));
    std::vector<std::pair<std::string, YAML::Node>> leaves;
    flatten(root, "", leaves);
    for (const auto& [key, value] : leaves) {
      const std::string where = concat(origin, ":", value.Mark().line + 1);
      apply(fields, key, value, where);
      given.emplace_back(key, where);
    }
  }
  for (const std::string& override_text : overrides) {
    const size_t eq = override_text.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(concat("--set ", override_text, ": expected key=value"));
    YAML::Node value;
    try {
      value = YAML::Load(override_text.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      throw Error(concat("--set ", override_text, ": ", e.msg));
    }
    apply(fields, override_text.substr(0, eq), value, "--set " + override_text);
    given.emplace_back(override_text.substr(0, eq), "--set " + override_text);
  }
  // Keys of another model type are mistakes, not settings to ignore.
  for (const auto& [key, where] : given)
    if (const std::string why = config_detail::misfit(key, config.model.type); !why.empty())
      throw Error(concat(where, ": ", key, ": ", why));
  config.model.vocab_size = config.model.src_vocab_size = config.vocab.size;
  config_detail::validate(config, origin);
  return config;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw Error(concat("cannot read config file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path, overrides);
}

std::string to_yaml(const Config& config) {
  Config copy = config;
  YAML::Node root;
  for (const Field& f : config_detail::fields(copy)) {
    if (!config_detail::misfit(f.key, config.model.type).empty()) continue;  // not this model type's
    std::vector<std::string> parts;
    std::stringstream key(f.key);
    for (std::string part; std::getline(key, part, '.');) parts.push_back(part);
    // One chained expression: yaml-cpp attaches a new child only on assignment.
    if (parts.size() == 2) root[parts[0]][parts[1]] = f.get();
    else if (parts.size() == 3) root[parts[0]][parts[1]][parts[2]] = f.get();
    else throw Error("config key " + f.key + " is nested deeper than the writer supports");
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::string describe_defaults() {
  Config defaults;
  std::string out;
  for (const Field& f : config_detail::fields(defaults)) {
    YAML::Emitter value;
    value << f.get();
    out += f.key + ": " + value.c_str() + "    # " + f.help + "\n";
  }
  return out;
}

std::string data_root(const std::string& command_line_root) {
  if (!command_line_root.empty()) return command_line_root;
  if (const char* env = std::getenv("ROSETTA_DATA"); env && *env) return env;
  return "data";
}

void resolve_data_paths(Config& config, const std::string& root) {
  auto resolve = [&](std::string& path) {
    if (!path.empty() && std::filesystem::path(path).is_relative())
      path = (std::filesystem::path(root) / path).string();
  };
  for (CorpusPaths* p : {&config.data.train, &config.data.valid, &config.data.test}) {
    resolve(p->src);
    resolve(p->tgt);
    resolve(p->text);
  }
}

double parse_duration(const std::string& text, const std::string& what) {
  // A number with an optional unit (90, 90s, 20m, 1.5h, 2d), or several with
  // units, largest first, as a clock reads them: 1h30m, 7m09s.
  const auto fail = [&] {
    return Error(concat(what.empty() ? "" : what + ": ", "expected a duration such as 90s, 20m, 1.5h or 1h30m, got '",
                        text, "'"));
  };
  const size_t first = text.find_first_not_of(" \t"), last = text.find_last_not_of(" \t");
  if (first == std::string::npos) throw fail();
  const std::string t = text.substr(first, last - first + 1);
  const std::string units = "dhms";
  const double unit_seconds[] = {86400, 3600, 60, 1};
  double seconds = 0;
  size_t at = 0, next_unit = 0;  // units must come largest first, each once
  while (at < t.size()) {
    at = t.find_first_not_of(' ', at);
    const size_t number_end = t.find_first_not_of("0123456789.", at);
    const std::string number = t.substr(at, number_end - at);
    if (number.empty() || !std::isdigit(static_cast<unsigned char>(number[0])) ||
        std::count(number.begin(), number.end(), '.') > 1)
      throw fail();
    size_t unit_at = number_end == std::string::npos ? t.size() : t.find_first_not_of(' ', number_end);
    if (unit_at >= t.size()) {  // a bare number: seconds, and only alone
      if (at != 0) throw fail();
      return std::stod(number);
    }
    const size_t unit = units.find(t[unit_at]);
    if (unit == std::string::npos || unit < next_unit) throw fail();
    seconds += std::stod(number) * unit_seconds[unit];
    next_unit = unit + 1;
    at = unit_at + 1;
  }
  return seconds;
}

}  // namespace rosetta
