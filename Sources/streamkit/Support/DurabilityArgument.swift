import ArgumentParser
import StreamKitLogFiles

/// `--durability fsync|interval:MS|none`.
struct DurabilityArgument: ExpressibleByArgument, CustomStringConvertible {
    var value: Durability

    init(_ value: Durability) {
        self.value = value
    }

    init?(argument: String) {
        switch argument.lowercased() {
        case "fsync": value = .fsync
        case "none": value = .none
        default:
            let parts = argument.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "interval", let ms = Int(parts[1]), ms > 0 else {
                return nil
            }
            value = .interval(milliseconds: ms)
        }
    }

    var description: String {
        switch value {
        case .fsync: "fsync"
        case .interval(let ms): "interval:\(ms)"
        case .none: "none"
        }
    }

    var defaultValueDescription: String { description }
}
