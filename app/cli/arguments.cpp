#include "arguments.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace coalesce::cli {

namespace {

const OptionSpec* findOption(const CommandSpec& spec, const std::string& name) {
    for (const auto& o : spec.options)
        if (o.name == name) return &o;
    return nullptr;
}

nlohmann::json convert(const OptionSpec& o, const std::string& text) {
    const std::string where = "--" + o.name;
    try {
        size_t used = 0;
        switch (o.type) {
            case OptionType::String:
                return text;
            case OptionType::Int: {
                long long v = std::stoll(text, &used);
                if (used != text.size()) break;
                return v;
            }
            case OptionType::Float: {
                double v = std::stod(text, &used);
                if (used != text.size() || !std::isfinite(v)) break;
                return v;
            }
            case OptionType::IntList: {
                std::vector<long long> list;
                std::stringstream ss(text);
                std::string item;
                while (std::getline(ss, item, ',')) {
                    size_t u = 0;
                    list.push_back(std::stoll(item, &u));
                    if (u != item.size()) throw std::invalid_argument(item);
                }
                if (list.empty()) break;
                return list;
            }
            case OptionType::Flag:
                return true;
        }
    } catch (const std::exception&) {
    }
    const char* expected = o.type == OptionType::Int     ? "an integer"
                           : o.type == OptionType::Float ? "a finite number"
                                                         : "a comma-separated list of integers";
    throw Error(where + ": expected " + std::string(expected) + ", got '" + text + "'");
}

}  // namespace

std::string ParsedArgs::str(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second.get<std::string>();
}
long long ParsedArgs::integer(const std::string& name) const { return values.at(name).get<long long>(); }
double ParsedArgs::real(const std::string& name) const { return values.at(name).get<double>(); }
std::vector<nlohmann::json> ParsedArgs::list(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return {};
    return it->second.is_array() ? it->second.get<std::vector<nlohmann::json>>() : std::vector<nlohmann::json>{it->second};
}
bool ParsedArgs::flag(const std::string& name) const {
    auto it = values.find(name);
    return it != values.end() && it->second.get<bool>();
}

ParsedArgs parseArguments(const CommandSpec& spec, const std::vector<std::string>& args) {
    ParsedArgs parsed;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            parsed.help = true;
            return parsed;
        }
        if (a.rfind("--", 0) != 0) {
            if (!spec.acceptsPositional)
                throw Error("unexpected argument '" + a + "' (see coalesce-cli " + spec.name + " --help)");
            parsed.positional.push_back(a);
            continue;
        }
        std::string name = a.substr(2), value;
        bool inlineValue = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inlineValue = true;
        }
        const OptionSpec* o = findOption(spec, name);
        if (!o) throw Error("unknown option --" + name + " (see coalesce-cli " + spec.name + " --help)");
        if (o->type == OptionType::Flag) {
            if (inlineValue) throw Error("--" + name + " takes no value");
            parsed.values[name] = true;
            parsed.given.insert(name);
            continue;
        }
        if (!inlineValue) {
            if (i + 1 >= args.size()) throw Error("--" + name + ": missing value");
            value = args[++i];
        }
        // `--out ""` (an unset shell variable) would silently mean "the default" or "here": refuse it.
        if (value.empty()) throw Error("--" + name + ": empty value (" + o->help + ")");
        if (o->repeatable) {
            parsed.values[name].push_back(convert(*o, value));  // null -> [value], then appends
        } else {
            parsed.values[name] = convert(*o, value);  // the last one wins, as with most tools
        }
        parsed.given.insert(name);
    }
    for (const auto& o : spec.options) {
        if (parsed.values.count(o.name)) continue;
        if (o.required) throw Error("missing required option --" + o.name + " (" + o.help + ")");
        if (!o.defaultValue.empty()) parsed.values[o.name] = convert(o, o.defaultValue);
    }
    return parsed;
}

std::string formatHelp(const CommandSpec& spec) {
    std::ostringstream s;
    s << spec.summary << "\n\nUsage: " << spec.usage << "\n";
    if (!spec.options.empty()) s << "\nOptions:\n";
    for (const auto& o : spec.options) {
        std::string left = "  --" + o.name;
        switch (o.type) {
            case OptionType::String: left += " TEXT"; break;
            case OptionType::Int: left += " N"; break;
            case OptionType::Float: left += " X"; break;
            case OptionType::IntList: left += " A,B,.."; break;
            case OptionType::Flag: break;
        }
        s << left << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << o.help;
        if (o.repeatable) s << (o.required ? " (required; repeatable)" : " (repeatable)");
        else if (o.required) s << " (required)";
        else if (!o.defaultValue.empty()) s << " [default: " << o.defaultValue << "]";
        s << "\n";
    }
    s << "  --help                      show this help\n";
    return s.str();
}

}  // namespace coalesce::cli
