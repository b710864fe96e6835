/// Why a peer run failed. Every case names the file or statement involved.
enum PeerError: Error, CustomStringConvertible {
    case io(operation: String, path: String, errno: Int32)
    case recordTooLarge(bytes: Int, blockBytes: Int)
    case compression(path: String, detail: String)
    case corruptFile(path: String, detail: String)
    case verification(system: BenchSystem, detail: String)
    case sqlite(operation: String, code: Int32, message: String)

    var description: String {
        switch self {
        case .io(let operation, let path, let code):
            return "\(operation) \(path) failed: \(SystemError.message(code))"
        case .recordTooLarge(let bytes, let blockBytes):
            return "a record of \(bytes) bytes does not fit a \(blockBytes)-byte block"
        case .compression(let path, let detail):
            return "LZ4 failed for \(path): \(detail)"
        case .corruptFile(let path, let detail):
            return "\(path) is not a valid block file: \(detail)"
        case .verification(let system, let detail):
            return "\(system.rawValue) read-back check failed: \(detail)"
        case .sqlite(let operation, let code, let message):
            return "SQLite \(operation) failed (code \(code)): \(message)"
        }
    }
}
