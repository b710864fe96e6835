#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Entry point: `swift run -c release Benchmarks [SCENARIO ...] [options]` (see `--help`).
@main
struct BenchmarkCommand {
    static let usageStatus: Int32 = 64

    static func main() async {
        let status = await run(Array(CommandLine.arguments.dropFirst()))
        exit(status)
    }

    static func run(_ commandLine: [String]) async -> Int32 {
        let arguments: BenchArguments
        let scenarios: [any Scenario]
        do throws(UsageError) {
            arguments = try BenchArguments.parse(commandLine)
            scenarios = try ScenarioRegistry.select(arguments.scenarioPatterns)
            if arguments.action == .run { try arguments.checkOutputPaths() }
        } catch {
            StandardError.emitLine("Benchmarks: \(error)")
            return usageStatus
        }

        switch arguments.action {
        case .help:
            print(BenchArguments.helpText)
            return 0
        case .list:
            let width = ScenarioRegistry.all.map(\.name.count).max() ?? 0
            for scenario in ScenarioRegistry.all {
                let name = scenario.name.padding(width)
                print("\(name)  \(scenario.inQuickSuite ? "quick" : "     ")  \(scenario.summary)")
            }
            return 0
        case .run:
            break
        }

        if arguments.isQuickSuite {
            StandardError.emitLine("quick suite: \(scenarios.map(\.name).joined(separator: ", "))")
        }
        let runner = ScenarioRunner(progress: ProgressReporter())
        let outcome = await runner.run(scenarios, arguments: arguments)
        let table = ReportTable(outcome.measurements)
        print(table.text())

        var status: Int32 = outcome.failures.isEmpty ? 0 : 1
        do throws(BenchError) {
            if let path = arguments.jsonPath { try ReportFile.write(JSONReport.render(outcome.measurements), to: path) }
            if let path = arguments.markdownPath { try ReportFile.write(table.markdown(), to: path) }
            if let path = arguments.svgPath { try ReportFile.write(SVGChart(outcome.measurements).render(), to: path) }
        } catch {
            StandardError.emitLine("Benchmarks: \(error)")
            status = 1
        }
        for failure in outcome.failures {
            StandardError.emitLine("FAILED \(failure)")
        }
        return status
    }
}
