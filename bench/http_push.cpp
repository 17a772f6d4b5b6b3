// Benchmark driver for bench/push_http.sh: uploads one file COUNT times to URL through
// fleetadm's HttpClient with PARALLEL jobs at once, and exits 1 if any upload failed.
// Usage: http-push URL FILE COUNT PARALLEL
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/transport/http.hpp"

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: http-push URL FILE COUNT PARALLEL\n");
        return 2;
    }
    int count = std::atoi(argv[3]);
    fleet::transport::HttpClient client(static_cast<std::size_t>(std::atoi(argv[4])));
    std::atomic<int> failed = 0;
    for (int i = 0; i < count; ++i) {
        fleet::transport::HttpJob job;
        job.device = "bench-" + std::to_string(i);
        job.base_url = argv[1];
        job.path = "";
        job.method = "PUT";
        job.upload_file = argv[2];
        client.submit(std::move(job), [&](fleet::transport::Outcome outcome) {
            if (!outcome.ok()) {
                ++failed;
                std::fprintf(stderr, "%s\n", outcome.message.c_str());
            }
        });
    }
    client.wait();
    return failed == 0 ? 0 : 1;
}
