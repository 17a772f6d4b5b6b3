#include "cmd/input.hpp"

#include <iostream>

#include "core/resource/loader.hpp"

namespace fleet::cli {

std::vector<model::Resource> read_resources(const std::vector<std::string>& paths, bool recursive,
                                            util::Diagnostics& diags)
{
    return resource::load({paths, recursive, &std::cin}, diags);
}

} // namespace fleet::cli
