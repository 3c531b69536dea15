using System.Diagnostics;

namespace Virt.Run.Tests;

/// <summary>Runs programs (Virt.Run, QEMU) as child processes and captures what they print and return.</summary>
internal static class VirtRunProcess
{
    /// <summary>The Virt.Run assembly built next to the test assembly.</summary>
    public static string VirtRunDll => Path.Combine(AppContext.BaseDirectory, "Virt.Run.dll");

    public static (int ExitCode, string Stdout, string Stderr) RunVirt(TimeSpan timeout, params string[] args) =>
        Run("dotnet", [VirtRunDll, .. args], timeout);

    public static (int ExitCode, string Stdout, string Stderr) Run(string fileName, IEnumerable<string> args, TimeSpan timeout) =>
        RunIn(null, fileName, args, timeout);

    public static (int ExitCode, string Stdout, string Stderr) RunIn(string? workingDirectory, string fileName, IEnumerable<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish within {timeout}");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Runs a program until its standard output contains <paramref name="marker"/>, it exits, or
    /// <paramref name="timeout"/> passes, then kills it if it is still running. For guests that print their last line and
    /// then wait for ever, such as SeaBIOS after "No bootable device.".
    /// </summary>
    /// <returns>Whether the marker appeared, whether the program exited by itself (and its status), and its output.</returns>
    public static (bool Found, int? ExitCode, string Stdout, string Stderr) RunUntil(string fileName, IEnumerable<string> args, string marker, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        var stdout = new System.Text.StringBuilder();
        var stderr = new System.Text.StringBuilder();
        using var markerSeen = new ManualResetEventSlim();
        var readOut = Task.Run(() =>
        {
            char[] buffer = new char[4096];
            int n;
            while ((n = process.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
            {
                lock (stdout)
                {
                    stdout.Append(buffer, 0, n);
                    if (stdout.ToString().Contains(marker, StringComparison.Ordinal))
                    {
                        markerSeen.Set();
                    }
                }
            }

            markerSeen.Set();
        });
        Task<string> readErr = process.StandardError.ReadToEndAsync();
        markerSeen.Wait(timeout);
        int? exitCode = null;
        if (process.HasExited)
        {
            exitCode = process.ExitCode;
        }
        else
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit();
        readOut.Wait(TimeSpan.FromSeconds(10));
        string output;
        lock (stdout)
        {
            output = stdout.ToString();
        }

        return (output.Contains(marker, StringComparison.Ordinal), exitCode, output, readErr.Wait(TimeSpan.FromSeconds(10)) ? readErr.Result : string.Empty);
    }

    /// <summary>Finds a program on PATH.</summary>
    public static string? Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Makes sure a Debian package's program is present, installing the package with apt-get when running as root
    /// (as CI does). Fails the test with a clear message otherwise: acceptance tests never pass without their tools.
    /// </summary>
    public static string EnsureProgram(string program, string package)
    {
        if (Which(program) is { } found)
        {
            return found;
        }

        (int code, _, string err) = Run("apt-get", ["install", "-y", "-q", "--no-install-recommends", package], TimeSpan.FromMinutes(10));
        if (code != 0)
        {
            // A fresh machine has no package lists yet.
            Run("apt-get", ["update", "-q"], TimeSpan.FromMinutes(10));
            (code, _, err) = Run("apt-get", ["install", "-y", "-q", "--no-install-recommends", package], TimeSpan.FromMinutes(10));
        }

        return Which(program) ?? throw new InvalidOperationException($"{program} is missing and 'apt-get install {package}' failed ({code}): {err}");
    }
}
