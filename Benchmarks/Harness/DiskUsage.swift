import Foundation

/// Bytes on disk under a directory: the sum of the regular files' logical sizes (`st_size`).
enum DiskUsage {
    static func bytes(under path: String) -> Int {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let relative = enumerator.nextObject() as? String {
            let full = path + "/" + relative
            guard let attributes = try? manager.attributesOfItem(atPath: full),
                attributes[.type] as? FileAttributeType == .typeRegular,
                let size = attributes[.size] as? NSNumber
            else { continue }
            total += size.intValue
        }
        return total
    }
}
