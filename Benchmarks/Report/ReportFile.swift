import Foundation

/// Writes a report file (JSON, Markdown, SVG) in one go.
enum ReportFile {
    static func write(_ text: String, to path: String) throws(BenchError) {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw .reportFile(path: path, detail: error.localizedDescription)
        }
    }
}
