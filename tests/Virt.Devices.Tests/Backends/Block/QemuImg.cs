using System.Diagnostics;
using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

/// <summary>
/// Runs <c>qemu-img</c> and <c>qemu-io</c> from Debian's qemu-utils, installing the package with apt-get when they are
/// missing and the tests run as root (as in CI). Acceptance tests never pass without their tools.
/// </summary>
internal static class QemuImg
{
    private static readonly Lazy<string> s_qemuImg = new(() => EnsureProgram("qemu-img"));
    private static readonly Lazy<string> s_qemuIo = new(() => EnsureProgram("qemu-io"));

    /// <summary>Runs qemu-img and asserts it succeeded; returns its standard output.</summary>
    public static string Ok(params string[] args) => Check(s_qemuImg.Value, args);

    /// <summary>Runs qemu-io and asserts it succeeded.</summary>
    public static string Io(params string[] args) => Check(s_qemuIo.Value, args);

    /// <summary>Runs qemu-img; returns its exit code and output.</summary>
    public static (int Code, string Output) Run(params string[] args) => RunProgram(s_qemuImg.Value, args);

    /// <summary>Asserts that <c>qemu-img check</c> finds no errors and no leaks.</summary>
    public static void AssertClean(string image)
    {
        (int code, string output) = Run("check", image);
        Assert.True(code == 0 && output.Contains("No errors were found", StringComparison.Ordinal), $"qemu-img check {image} exited {code}:\n{output}");
    }

    /// <summary>Asserts that <c>qemu-img compare</c> finds an image identical to a raw file.</summary>
    public static void AssertSame(string image, string format, string raw)
    {
        (int code, string output) = Run("compare", "-f", format, "-F", "raw", image, raw);
        Assert.True(code == 0, $"qemu-img compare {image} {raw} exited {code}:\n{output}");
    }

    private static string Check(string program, string[] args)
    {
        (int code, string output) = RunProgram(program, args);
        Assert.True(code == 0, $"{Path.GetFileName(program)} {string.Join(' ', args)} exited {code}:\n{output}");
        return output;
    }

    private static (int Code, string Output) RunProgram(string program, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static string? Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Where(dir => dir.Length > 0)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static string EnsureProgram(string program)
    {
        if (Which(program) is { } found)
        {
            return found;
        }

        (int code, string output) = RunProgram("apt-get", ["install", "-y", "-q", "--no-install-recommends", "qemu-utils"]);
        if (code != 0)
        {
            // A fresh machine has no package lists yet.
            RunProgram("apt-get", ["update", "-q"]);
            (code, output) = RunProgram("apt-get", ["install", "-y", "-q", "--no-install-recommends", "qemu-utils"]);
        }

        return Which(program) ?? throw new InvalidOperationException($"{program} is missing and 'apt-get install qemu-utils' failed ({code}): {output}");
    }
}
