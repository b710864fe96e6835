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

/// Yields until `value` has stayed the same for `quietYields` yields in a row (at most `maxYields` yields), so
/// that background pumps have run as far as they will before a test checks a bound on what they did.
///
/// Waiting for quiet instead of yielding a fixed, large number of times keeps such tests short when the
/// machine is loaded and the cooperative pool is shared with many other tests (each yield then waits for all of
/// them): a fixed 2,000 yields took over a minute there.
func settle(quietYields: Int = 100, maxYields: Int = 2_000, _ value: () -> Int) async {
    var last = value()
    var quiet = 0
    for _ in 0..<maxYields {
        await Task.yield()
        let now = value()
        if now == last {
            quiet += 1
            if quiet >= quietYields { return }
        } else {
            last = now
            quiet = 0
        }
    }
}
