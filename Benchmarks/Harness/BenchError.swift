/// A failure of the harness itself (work directories, report files).
enum BenchError: Error, CustomStringConvertible {
    case workDirectory(path: String, errno: Int32)
    case reportFile(path: String, detail: String)
    /// A scenario's run did not do what it was asked to (e.g. fewer records came back than were written).
    case failed(String)

    var description: String {
        switch self {
        case .workDirectory(let path, let code):
            return "cannot create work directory under \(path): \(SystemError.message(code))"
        case .reportFile(let path, let detail):
            return "cannot write report \(path): \(detail)"
        case .failed(let detail):
            return detail
        }
    }
}
