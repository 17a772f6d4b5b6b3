#include "core/resource/yaml_writer.hpp"

#include <yaml-cpp/yaml.h>

#include "core/resource/yaml_reader.hpp"

namespace fleet::resource {
namespace {

void emit(YAML::Emitter& out, const nlohmann::json& value)
{
    switch (value.type()) {
    case nlohmann::json::value_t::object:
        out << YAML::BeginMap;
        for (const auto& [key, item] : value.items()) {
            out << YAML::Key;
            if (plain_scalar_is_string(key))
                out << key;
            else
                out << YAML::DoubleQuoted << key;
            out << YAML::Value;
            emit(out, item);
        }
        out << YAML::EndMap;
        break;
    case nlohmann::json::value_t::array:
        out << YAML::BeginSeq;
        for (const auto& item : value) emit(out, item);
        out << YAML::EndSeq;
        break;
    case nlohmann::json::value_t::string: {
        const auto& s = value.get_ref<const std::string&>();
        if (plain_scalar_is_string(s))
            out << s;
        else
            out << YAML::DoubleQuoted << s;
        break;
    }
    case nlohmann::json::value_t::boolean: out << (value.get<bool>() ? "true" : "false"); break;
    case nlohmann::json::value_t::null: out << YAML::Null; break;
    default: out << value.dump(); break;  // numbers: JSON and YAML spell them alike
    }
}

} // namespace

std::string to_yaml(const nlohmann::json& value)
{
    YAML::Emitter out;
    out.SetIndent(2);
    out.SetSeqFormat(YAML::Block);
    emit(out, value);
    std::string text = out.c_str();
    if (text.empty() || text.back() != '\n') text += '\n';
    return text;
}

} // namespace fleet::resource
