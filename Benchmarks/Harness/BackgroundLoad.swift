import CStreamKitSupport

#if canImport(Glibc)
import Glibc
#endif

/// `--background-load`: another process that keeps one core busy (a shell spinning in a loop) for the whole run,
/// so that every system is measured on a machine that is not idle — what a service sharing its host sees.
struct BackgroundLoad: ~Copyable {
    let pid: pid_t

    /// Starts the busy process.
    static func start() throws(BenchError) -> BackgroundLoad {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        _ = sk_spawn_close_from(&actions, 3)
        let commandLine: [String] = ["/bin/sh", "-c", "while :; do :; done"]
        let argv = commandLine.map { strdup($0) }
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        var pointers = argv + [nil]
        let spawned = pointers.withUnsafeMutableBufferPointer { pointers in
            guard let base = pointers.baseAddress else { return EINVAL }
            return posix_spawn(&pid, "/bin/sh", &actions, nil, base, environ)
        }
        guard spawned == 0 else {
            throw .failed("cannot start the background load: \(SystemError.message(spawned))")
        }
        return BackgroundLoad(pid: pid)
    }

    /// Stops the busy process and reaps it.
    consuming func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}
