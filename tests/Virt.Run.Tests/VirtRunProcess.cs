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
