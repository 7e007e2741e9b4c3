namespace MediaService.Cli;

/// <summary>The exit codes a script can rely on (also listed by <c>media --help</c> and in the README).</summary>
public static class ExitCodes
{
    /// <summary>Everything asked was done.</summary>
    public const int Ok = 0;

    /// <summary>Anything else that failed: the service refused the request, or answered what it should not.</summary>
    public const int Failure = 1;

    /// <summary>Bad arguments, or a file or folder to upload that does not exist.</summary>
    public const int Usage = 2;

    /// <summary>No such item (or one of another owner: the service answers both alike).</summary>
    public const int NotFound = 3;

    /// <summary>No key, or the key was refused (401, 403).</summary>
    public const int Auth = 4;

    /// <summary>The service could not be reached, or kept answering 5xx/429, after the bounded retries.</summary>
    public const int Unavailable = 5;

    /// <summary><c>wait</c>: processing ended rejected or failed, or the upload failed, expired or was terminated.</summary>
    public const int Rejected = 6;

    /// <summary><c>wait</c>: processing had not ended when the timeout passed.</summary>
    public const int Timeout = 7;

    /// <summary>Interrupted by Ctrl-C (SIGINT); unfinished uploads resume on the next run.</summary>
    public const int Interrupted = 130;

    /// <summary>Stopped by SIGTERM; unfinished uploads resume on the next run.</summary>
    public const int Terminated = 143;

    /// <summary>The table printed by <c>--help</c>.</summary>
    public const string Help = """
        Exit codes:
          0    ok
          1    failure (the service refused the request, a checksum mismatch, an unexpected answer)
          2    usage error (bad arguments, a file or folder that does not exist)
          3    not found (no such item, or not yours)
          4    authentication (no key, or the key was refused: 401/403)
          5    service unavailable (unreachable, or 5xx/429 after --retries retries)
          6    wait: processing rejected or failed (or the upload failed/expired)
          7    wait: timed out
          130  interrupted (Ctrl-C); unfinished uploads resume on the next run
        """;
}

/// <summary>A failure that ends the command with <see cref="ExitCode"/> and one line on stderr.</summary>
public sealed class CliException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The process exit code (see <see cref="ExitCodes"/>).</summary>
    public int ExitCode { get; } = exitCode;
}
