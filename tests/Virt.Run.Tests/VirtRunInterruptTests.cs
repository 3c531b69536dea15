using System.Diagnostics;
using System.Runtime.InteropServices;
using Virt.Machine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>Ctrl+C (SIGINT) stops Virt.Run with exit status 130 (POSIX hosts, as CI is).</summary>
public sealed class VirtRunInterruptTests
{
    private const int Sigint = 2;

    [Fact]
    public async Task SigintStopsTheRunWithStatus130()
    {
        string dir = Directory.CreateTempSubdirectory("virt-run-").FullName;
        try
        {
            string rom = Path.Combine(dir, "spin.rom");
            File.WriteAllBytes(rom, TestRoms.SignalThenSpin());
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { VirtRunProcess.VirtRunDll, "-bios", rom, "-display", "none", "-debugcon", "stdio", "--timeout", "60" })
            {
                info.ArgumentList.Add(arg);
            }

            using var process = Process.Start(info)!;
            process.StandardInput.Close();
            Task<string> stderr = process.StandardError.ReadToEndAsync();

            // The guest's '!' shows the machine is running (so the Ctrl+C handler is installed): interrupt it now.
            Assert.Equal('!', (char)process.StandardOutput.Read());
            Assert.Equal(0, Kill(process.Id, Sigint));
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true); // never leave it spinning when the test fails
                }
            }

            Assert.Equal(ProcessExitStatuses.Interrupted, process.ExitCode);
            Assert.Contains("Virt.Run: stopped: Cancelled", await stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
