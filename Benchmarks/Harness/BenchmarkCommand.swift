import Dispatch

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
        var arguments: BenchArguments
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
        // postgres.* scenarios: the given database, or a private cluster for this run (removed at the end, also
        // when a scenario fails or the run is interrupted).
        var cluster: PrivatePostgres?
        var interruption: [any DispatchSourceSignal] = []
        if arguments.postgresURL == nil, scenarios.contains(where: \.needsPostgres) {
            do throws(BenchError) {
                let started = try PrivatePostgres.start()
                cluster = started
                arguments.postgresURL = started.url
                interruption = Self.stopOnInterrupt(started)
            } catch {
                StandardError.emitLine("Benchmarks: \(error)")
                return 1
            }
        }
        var load: BackgroundLoad?
        if arguments.backgroundLoad {
            do throws(BenchError) {
                load = try BackgroundLoad.start()
                StandardError.emitLine("background load: one busy process (pid \(load?.pid ?? 0)) for the whole run")
            } catch {
                cluster?.stop()
                StandardError.emitLine("Benchmarks: \(error)")
                return 1
            }
        }
        let runner = ScenarioRunner(progress: ProgressReporter())
        let outcome = await runner.run(scenarios, arguments: arguments)
        load.take()?.stop()
        for source in interruption { source.cancel() }
        cluster?.stop()
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

    /// On SIGINT or SIGTERM: stop and remove the private cluster, then exit 130 or 143.
    private static func stopOnInterrupt(_ cluster: PrivatePostgres) -> [any DispatchSourceSignal] {
        [(SIGINT, Int32(130)), (SIGTERM, Int32(143))].map { signalNumber, status in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                StandardError.emitLine("\ninterrupted: removing the private PostgreSQL cluster")
                cluster.stop()
                exit(status)
            }
            source.resume()
            return source
        }
    }
}
