#if canImport(Glibc)
import Glibc
#endif

/// The process's limit on open files. A server holds one descriptor per connection and a few per open store,
/// and the common soft limit (1,024) is far below the usual hard one, so `serve` raises the soft limit to the
/// hard one at start, as Go's runtime does for every program.
enum OpenFileLimit {
    /// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit now in force (nil: unknown).
    @discardableResult
    static func raiseToHardLimit() -> UInt64? {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
