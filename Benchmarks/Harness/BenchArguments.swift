#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parsed command line. Parsing is by hand (no dependency); `--flag value` and `--flag=value`.
struct BenchArguments: Sendable, Equatable {
    enum Action: Sendable, Equatable {
        case run
        case list
        case help
    }

    static let maximumPayloadBytes = 65_000

    var action: Action = .run
    /// Scenario names or prefixes (`logfiles` selects `logfiles.*`). Empty: the quick suite.
    var scenarioPatterns: [String] = []
    var records: Int?
    var payloadBytes = 256
    var batch = 100
    var durability: BenchDurability?
    var segments: Int?
    var producers: Int?
    var jsonPath: String?
    var markdownPath: String?
    var svgPath: String?
    /// Run the sqlite and limit peers (default); `--no-peers` runs StreamKit alone (profiling, quick checks).
    var peers = true
    /// The database of the `postgres.*` scenarios; nil: the harness starts a private cluster when one is selected.
    var postgresURL: String?
    /// Keep one core busy with another process for the whole run (`--background-load`).
    var backgroundLoad = false

    /// No scenario named: run the quick suite with `quick = true`.
    var isQuickSuite: Bool { scenarioPatterns.isEmpty }

    static let helpText = """
        usage: Benchmarks [SCENARIO ...] [options]

        Runs StreamKit benchmark scenarios with the sqlite and limit peers on the same workload and
        prints one table. With no scenario it runs the quick suite (a few minutes). A scenario may be
        named exactly or by prefix: `logfiles` selects logfiles.*.

        options:
          --list                    list the scenarios and exit
          --records N               records per run (default: the scenario's own)
          --payload-bytes N         bytes per record, 1...\(maximumPayloadBytes) (default 256)
          --batch N                 records per transaction (default 100)
          --durability none|fsync   run only this durability (default: both where it matters)
          --segments N              segments to spread records over (engine scenarios)
          --producers N             concurrent producers (engine scenarios)
          --json FILE               write the measurements as a JSON array
          --markdown FILE           write the table as Markdown
          --svg FILE                write a bar chart of records/s as SVG
          --no-peers                run StreamKit alone (no sqlite, limit or postgres-raw rows)
          --background-load         keep one core busy with another process during the whole run (every
                                    system is measured under the same load)
          --postgres URL            database of the postgres.* scenarios (postgres://USER@HOST:PORT/DB; a
                                    throwaway one: they create tables and stores in it). Without it, a
                                    private cluster is started with scripts/postgres.sh and removed at the
                                    end. postgres.* scenarios run only when named (`Benchmarks postgres`).
          -h, --help                show this help

        Exit status: 0 ok, 1 a scenario failed, 64 usage error.
        """

    static func parse(_ arguments: [String]) throws(UsageError) -> BenchArguments {
        var result = BenchArguments()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("-"), argument != "-" else {
                result.scenarioPatterns.append(argument)
                continue
            }
            var flag = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard index < arguments.count else { throw .missingValue(flag: flag) }
                index += 1
                return arguments[index - 1]
            }
            switch flag {
            case "-h", "--help":
                result.action = .help
            case "--list":
                if result.action != .help { result.action = .list }
            case "--records":
                result.records = try positive(flag, try value())
            case "--payload-bytes":
                let bytes = try positive(flag, try value())
                guard bytes <= maximumPayloadBytes else {
                    throw .invalidValue(flag: flag, value: String(bytes), expected: "1...\(maximumPayloadBytes)")
                }
                result.payloadBytes = bytes
            case "--batch":
                result.batch = try positive(flag, try value())
            case "--durability":
                let text = try value()
                guard let durability = BenchDurability(rawValue: text) else {
                    throw .invalidValue(flag: flag, value: text, expected: "none or fsync")
                }
                result.durability = durability
            case "--segments":
                result.segments = try positive(flag, try value())
            case "--producers":
                result.producers = try positive(flag, try value())
            case "--json":
                result.jsonPath = try path(flag, try value())
            case "--markdown":
                result.markdownPath = try path(flag, try value())
            case "--svg":
                result.svgPath = try path(flag, try value())
            case "--no-peers":
                result.peers = false
            case "--background-load":
                result.backgroundLoad = true
            case "--postgres":
                let url = try value()
                guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                    throw .invalidValue(flag: flag, value: "(hidden)", expected: "a postgres:// URL")
                }
                result.postgresURL = url
            default:
                throw .unknownFlag(flag)
            }
            if inlineValue != nil, ["-h", "--help", "--list", "--no-peers", "--background-load"].contains(flag) {
                throw .invalidValue(flag: flag, value: inlineValue ?? "", expected: "no value")
            }
        }
        return result
    }

    /// Fails early (before a long run) when an output file's directory is missing or not writable.
    func checkOutputPaths() throws(UsageError) {
        let outputs = [("--json", jsonPath), ("--markdown", markdownPath), ("--svg", svgPath)]
        for case (let flag, let path?) in outputs {
            let directory = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) : "."
            guard access(directory.isEmpty ? "/" : directory, W_OK) == 0 else {
                throw .unwritableOutput(flag: flag, path: path)
            }
        }
    }

    /// Options for one scenario run in `workDirectory`.
    func options(workDirectory: String) -> BenchOptions {
        BenchOptions(
            records: records,
            payloadBytes: payloadBytes,
            batch: batch,
            durability: durability,
            segments: segments,
            producers: producers,
            workDirectory: workDirectory,
            quick: isQuickSuite,
            peers: peers,
            postgresURL: postgresURL
        )
    }

    private static func positive(_ flag: String, _ text: String) throws(UsageError) -> Int {
        let cleaned = text.replacingUnderscores()
        guard let number = Int(cleaned), number > 0 else {
            throw .invalidValue(flag: flag, value: text, expected: "a positive integer")
        }
        return number
    }

    private static func path(_ flag: String, _ text: String) throws(UsageError) -> String {
        guard !text.isEmpty, !text.hasPrefix("-") || text == "-" else {
            throw .invalidValue(flag: flag, value: text, expected: "a file path")
        }
        return text
    }
}

extension String {
    /// `1_000_000` → `1000000`, so record counts can be written readably.
    fileprivate func replacingUnderscores() -> String {
        String(filter { $0 != "_" })
    }
}
