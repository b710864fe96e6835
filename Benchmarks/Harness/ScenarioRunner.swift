/// Runs scenarios one after another, each in a fresh work directory that is removed afterwards (also
/// when the scenario throws). A failing scenario is reported and the others still run.
struct ScenarioRunner {
    let progress: ProgressReporter

    struct Outcome {
        var measurements: [Measurement] = []
        var failures: [String] = []
    }

    func run(_ scenarios: [any Scenario], arguments: BenchArguments) async -> Outcome {
        var outcome = Outcome()
        for scenario in scenarios {
            let started = MonotonicClock.nanoseconds()
            do {
                let rows = try await runOne(scenario, arguments: arguments)
                outcome.measurements += rows
                let seconds = MonotonicClock.seconds(from: started, to: MonotonicClock.nanoseconds())
                progress.finish("\(scenario.name): \(rows.count) rows in \(NumberFormat.fixed(seconds, digits: 1)) s")
            } catch {
                outcome.failures.append("\(scenario.name): \(error)")
                progress.finish("\(scenario.name): failed: \(error)")
            }
        }
        return outcome
    }

    private func runOne(_ scenario: any Scenario, arguments: BenchArguments) async throws -> [Measurement] {
        let work = try WorkDirectory.create(label: scenario.name)
        defer { work.remove() }
        ResidentMemory.resetPeak()
        var rows = try await scenario.run(arguments.options(workDirectory: work.path), progress: progress)
        let scenarioPeak = ResidentMemory.peak()
        for index in rows.indices where rows[index].peakResidentBytes == nil {
            rows[index].peakResidentBytes = scenarioPeak
        }
        return rows
    }
}
