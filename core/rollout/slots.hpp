#pragma once
// A runner's parallel slots, shared fairly among tenants (SPEC §10). Every rollout a runner works
// on asks for slots before it claims devices and gives one back when a device leaves it. Sharing is
// max-min fair and work-conserving: with T tenants asking, each may hold capacity / T slots (at
// least one); a tenant at or above its share gets no more while another tenant below its share is
// waiting, but takes what nobody else wants. So a 10,000-device rollout of one tenant gives way to a
// 5-device rollout of another within one device's install time, and has every slot again after.

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace fleet::rollout {

class Slots {
public:
    explicit Slots(std::size_t capacity) : m_capacity(capacity ? capacity : 1) {}

    /// Grants up to wanted slots to requester (one rollout) of tenant now, and remembers what it
    /// still wants: a requester that got less than it asked for is waiting until its next call.
    std::size_t acquire(const std::string& tenant, const std::string& requester, std::size_t wanted);
    /// Gives back n slots of tenant.
    void release(const std::string& tenant, std::size_t n);
    /// requester stopped asking (its rollout ended here).
    void leave(const std::string& requester);

    std::size_t capacity() const { return m_capacity; }
    /// Slots tenant holds now.
    std::size_t held(const std::string& tenant) const;

private:
    std::size_t share() const;  ///< under m_mutex

    struct Wanting {
        std::string tenant;
        std::size_t more = 0;  ///< slots asked for and not granted at its last call
    };
    mutable std::mutex m_mutex;
    std::size_t m_capacity;
    std::size_t m_used = 0;
    std::map<std::string, std::size_t> m_held;        ///< by tenant
    std::map<std::string, Wanting> m_wanting;         ///< by requester
};

} // namespace fleet::rollout
