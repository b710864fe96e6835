import ArgumentParser

/// A retention age: a whole number with a unit, `90s`, `15m`, `36h`, `7d` or `2w`.
struct AgeArgument: ExpressibleByArgument, CustomStringConvertible {
    var value: Duration
    let description: String

    init?(argument: String) {
        guard let unit = argument.last, let count = Int64(argument.dropLast()), count > 0 else { return nil }
        let seconds: Int64
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3_600
        case "d": seconds = 86_400
        case "w": seconds = 604_800
        default: return nil
        }
        let (total, overflow) = count.multipliedReportingOverflow(by: seconds)
        guard !overflow else { return nil }
        value = .seconds(total)
        description = argument
    }
}
