extension RandomAccessCollection {
    /// The first index whose element satisfies `belongsInSecondPart`, for a collection partitioned so that
    /// every such element comes after every other one (binary search); `endIndex` when none does.
    /// - Complexity: O(log n).
    @inlinable
    package func partitioningIndex(where belongsInSecondPart: (Element) throws -> Bool) rethrows -> Index {
        var low = startIndex
        var count = distance(from: startIndex, to: endIndex)
        while count > 0 {
            let half = count / 2
            let middle = index(low, offsetBy: half)
            if try belongsInSecondPart(self[middle]) {
                count = half
            } else {
                low = index(after: middle)
                count -= half + 1
            }
        }
        return low
    }
}
