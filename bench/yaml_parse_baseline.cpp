// Baseline for bench/: parses YAML files with yaml-cpp alone (YAML::LoadAll), as a
// program that builds nothing else, and prints how many documents it read.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iostream>

int main(int argc, char** argv)
{
    std::size_t documents = 0;
    for (int i = 1; i < argc; ++i) {
        std::ifstream in(argv[i]);
        documents += YAML::LoadAll(in).size();
    }
    std::cout << documents << "\n";
    return 0;
}
