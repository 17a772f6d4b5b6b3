#include <catch2/catch.hpp>

#include "core/model/template.hpp"
#include "core/rollout/schedule.hpp"

using namespace fleet;
using nlohmann::json;

namespace {

std::vector<std::size_t> ends(const json& strategy, std::size_t n)
{
    std::vector<std::size_t> out;
    for (const auto& p : rollout::make_phases(strategy, n)) out.push_back(p.end);
    return out;
}

std::chrono::system_clock::time_point at(const std::string& utc) { return rollout::parse_utc(utc).value(); }

} // namespace

TEST_CASE("phases are cumulative, take at least one device each and end with every target", "[rollout]")
{
    json three = json::parse(R"({"phases": [{"name": "canary", "count": 2}, {"percent": 25, "pause": true},
                                             {"percent": 100, "soak": "10m"}]})");
    CHECK(ends(three, 20) == std::vector<std::size_t>{2, 5, 20});
    CHECK(ends(three, 4) == std::vector<std::size_t>{2, 3, 4});   // 25% of 4 is 1, but each phase takes one more
    CHECK(ends(three, 2) == std::vector<std::size_t>{2});          // nothing left for later phases
    CHECK(ends(three, 0).empty());
    auto phases = rollout::make_phases(three, 20);
    CHECK(phases[0].name == "canary");
    CHECK(phases[1].name == "phase-2");
    CHECK(phases[1].pause);
    CHECK(phases[2].soak == std::chrono::minutes(10));
    CHECK(ends(json::object(), 7) == std::vector<std::size_t>{7});
    // The last phase always finishes the targets, even when it names a smaller share.
    CHECK(ends(json::parse(R"({"phases": [{"count": 1}, {"percent": 50}]})"), 10) == std::vector<std::size_t>{1, 10});
    // Percent rounds up.
    CHECK(ends(json::parse(R"({"phases": [{"percent": 10}, {"percent": 100}]})"), 11) == std::vector<std::size_t>{2, 11});
}

TEST_CASE("failure thresholds are counts or percents of the phase", "[rollout]")
{
    CHECK(rollout::allowed_failures(json::object(), 10) == 0);
    CHECK(rollout::allowed_failures(json{{"failureThreshold", 3}}, 10) == 3);
    CHECK(rollout::allowed_failures(json{{"failureThreshold", "10%"}}, 25) == 2);
    CHECK(rollout::allowed_failures(json{{"failureThreshold", "10%"}}, 9) == 0);
}

TEST_CASE("maintenance windows are evaluated in their time zone", "[rollout]")
{
    json berlin = json::parse(R"([{"days": ["mon", "tue"], "start": "02:00", "end": "04:00", "timezone": "Europe/Berlin"}])");
    // 2026-11-23 is a Monday; Berlin is UTC+1 in November.
    CHECK(rollout::inside_window(berlin, at("2026-11-23T01:30:00Z")));   // 02:30 local
    CHECK_FALSE(rollout::inside_window(berlin, at("2026-11-23T03:00:00Z")));  // 04:00 local: ended
    CHECK_FALSE(rollout::inside_window(berlin, at("2026-11-25T01:30:00Z")));  // Wednesday
    json night = json::parse(R"([{"days": ["fri"], "start": "22:00", "end": "02:00"}])");
    CHECK(rollout::inside_window(night, at("2026-11-27T23:00:00Z")));   // Friday night
    CHECK(rollout::inside_window(night, at("2026-11-28T01:00:00Z")));   // Saturday early: opened Friday
    CHECK_FALSE(rollout::inside_window(night, at("2026-11-29T01:00:00Z")));  // Sunday early: opened Saturday? no
    CHECK(rollout::inside_window(json::array(), at("2026-11-29T01:00:00Z")));
}

TEST_CASE("templates: known variables only, shell values quoted", "[rollout]")
{
    CHECK(model::check_template("mender install {{artifact.path}} && echo {{ tenant.settings.region }}"));
    CHECK_FALSE(model::check_template("echo {{artifact.nope}}"));
    CHECK_FALSE(model::check_template("echo {{artifact.path"));
    model::TemplateValues v;
    v.values["artifact.path"] = "/tmp/fw it's.bin";
    v.values["device.name"] = "hvac-1";
    v.settings["region"] = "$(reboot)";
    auto shell = model::render_template("install {{artifact.path}} --region={{tenant.settings.region}}", v, true);
    REQUIRE(shell);
    CHECK(*shell == "FLEET_V1='/tmp/fw it'\\''s.bin' FLEET_V2='$(reboot)'; install \"${FLEET_V1}\" --region=\"${FLEET_V2}\"");
    CHECK(model::render_template("{{device.name}}", v, false).value() == "hvac-1");
    auto missing = model::render_template("{{tenant.settings.absent}}", v, true);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("tenant.settings.absent") != std::string::npos);
}

TEST_CASE("the next maintenance window: its opening in its own time zone, on one of its days", "[rollout][state]")
{
    // 2026-12-01 is a Tuesday; Berlin is UTC+1 in December.
    json weekdays = json::parse(
        R"([{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "02:00", "end": "04:00", "timezone": "Europe/Berlin"}])");
    CHECK(rollout::format_utc(*rollout::next_window_open(weekdays, at("2026-12-01T10:00:00Z"))) == "2026-12-02T01:00:00Z");
    CHECK(rollout::format_utc(*rollout::next_window_open(weekdays, at("2026-12-04T10:00:00Z"))) == "2026-12-07T01:00:00Z");
    auto inside = at("2026-12-01T01:30:00Z");
    CHECK(rollout::next_window_open(weekdays, inside) == inside);
    CHECK(rollout::next_window_open(json::array(), inside) == inside);
    json never = json::parse(R"([{"days": [], "start": "02:00", "end": "04:00"}])");
    CHECK_FALSE(rollout::next_window_open(never, inside));
}

TEST_CASE("a rollout's reported state: running only with a runner, waiting with until when", "[rollout][state]")
{
    rollout::Timing any;
    auto now = at("2026-12-01T10:00:00Z");
    CHECK(rollout::reported_state("", "", false, any, now).state == "not started");
    CHECK(rollout::reported_state("running", "", true, any, now).state == "running");
    CHECK(rollout::reported_state("running", "", false, any, now).state == "queued");
    CHECK(rollout::reported_state("paused", "paused by bob", true, any, now).reason == "paused by bob");
    CHECK(rollout::reported_state("completed", "", false, any, now).state == "completed");
    rollout::Timing later;
    later.not_before = at("2026-12-24T00:00:00Z");
    auto waiting = rollout::reported_state("running", "", true, later, now);
    CHECK(waiting.state == "waiting");
    CHECK(waiting.reason == "notBefore 2026-12-24T00:00:00Z");
    rollout::Timing nights;
    nights.windows = json::parse(R"([{"start": "22:00", "end": "04:00"}])");
    auto night = rollout::reported_state("running", "", false, nights, now);
    CHECK(night.state == "waiting");
    CHECK(night.reason == "the next maintenance window opens at 2026-12-01T22:00:00Z");
    CHECK(rollout::reported_state("running", "", true, nights, at("2026-12-01T23:00:00Z")).state == "running");
}
