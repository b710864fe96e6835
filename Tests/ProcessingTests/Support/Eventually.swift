/// Yields (never sleeps) until `condition` holds; `false` if it still does not after `maxYields`.
///
/// For conditions that a background task makes true shortly after an event the test waited for, such
/// as a timer task leaving the clock after cancellation.
func eventually(maxYields: Int = 100_000, _ condition: () -> Bool) async -> Bool {
    for _ in 0..<maxYields {
        if condition() { return true }
        await Task.yield()
    }
    return condition()
}
