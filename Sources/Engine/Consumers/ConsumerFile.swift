import StreamKitLogFiles
import Synchronization

/// A file store's durable consumers: the table in memory and its `consumers` file beside the log, rewritten whole
/// (atomically) on every change. Changes arrive batched (``Store`` flushes acknowledgements together), so a file
/// write carries many.
package final class ConsumerFile: Sendable {
    private let file: SideFile
    private let table: Mutex<ConsumerTable>

    /// Reads the file at `path` (none: no consumers).
    /// - Throws: `StreamKitError` `.corrupt` for a damaged file, `.storage` when it cannot be read.
    init(path: String, fileSystem: any FileSystem) throws {
        let file = SideFile(
            path: path, magic: ConsumerCodec.magic, version: ConsumerCodec.version, fileSystem: fileSystem)
        self.file = file
        self.table = Mutex(ConsumerTable(try Self.read(file)))
    }

    /// The consumers recorded in `directory`'s file, for tools reading a store that is not open.
    package static func read(directory: String) throws -> [Consumer] {
        let layout = StoreLayout(root: directory)
        return try read(
            SideFile(path: layout.consumersPath, magic: ConsumerCodec.magic, version: ConsumerCodec.version))
    }

    private static func read(_ file: SideFile) throws -> [Consumer] {
        let body: [UInt8]?
        do { body = try file.read() } catch { throw StreamKitError.storage(error) }
        guard let body else { return [] }
        do {
            return try ConsumerCodec.decodeTable(body)
        } catch {
            throw StreamKitError(
                code: .corrupt, message: "\(file.path): consumer record damaged at body offset \(error.offset)")
        }
    }

    var consumers: [Consumer] { table.withLock { $0.sorted } }

    /// Applies `changes` in order and writes the file when any changed something; on a failed write nothing changes.
    func record(_ changes: [ConsumerChange]) throws -> [Result<Consumer?, StreamKitError>] {
        try table.withLock { table in
            var next = table
            let outcomes = changes.map { next.apply($0) }
            guard next != table else { return outcomes }
            do { try file.write(ConsumerCodec.encode(next.sorted)) } catch { throw StreamKitError.storage(error) }
            table = next
            return outcomes
        }
    }
}
