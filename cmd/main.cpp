#include "cmd/commands.hpp"
#include "cmd/huge_pages.hpp"

int main(int argc, char** argv)
{
    fleet::cli::use_huge_pages(argc, argv);
    return fleet::cli::run(argc, argv);
}
