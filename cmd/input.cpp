#include "cmd/input.hpp"

#include <iostream>

#include "core/input/loader.hpp"

namespace fleet::cli {

std::vector<model::Resource> read_resources(const std::vector<std::string>& paths, bool recursive,
                                            const Globals& g, util::Diagnostics& diags,
                                            bool devices_only, input::Format stdin_format, resource::DeviceBatch* bulk)
{
    input::LoadRequest request;
    request.paths = paths;
    request.recursive = recursive;
    request.stdin_stream = &std::cin;
    request.default_tenant = g.default_tenant();
    request.required_tenant = g.tenant;
    request.devices_only = devices_only;
    request.stdin_format = stdin_format;
    request.bulk = bulk;
    return input::load(request, diags);
}

} // namespace fleet::cli
