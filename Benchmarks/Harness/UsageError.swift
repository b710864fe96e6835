/// A command-line mistake. The entry point prints it on one line and exits with status 64 (EX_USAGE).
enum UsageError: Error, Equatable, CustomStringConvertible {
    case unknownFlag(String)
    case missingValue(flag: String)
    case invalidValue(flag: String, value: String, expected: String)
    case unknownScenario(String)
    case unwritableOutput(flag: String, path: String)

    var description: String {
        switch self {
        case .unknownFlag(let flag):
            return "unknown option '\(flag)' (see --help)"
        case .missingValue(let flag):
            return "option '\(flag)' needs a value (see --help)"
        case .invalidValue(let flag, let value, let expected):
            return "invalid value '\(value)' for \(flag): expected \(expected)"
        case .unknownScenario(let pattern):
            return "no scenario matches '\(pattern)' (see --list)"
        case .unwritableOutput(let flag, let path):
            return "cannot write \(flag) file '\(path)': its directory does not exist or is not writable"
        }
    }
}
