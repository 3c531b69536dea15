using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Issue 17's acceptance of the compiled tier on real kernels: Debian's 686 and amd64 kernels with the busybox initramfs,
/// booted in deterministic mode (virtual time from retired instructions) once by the interpreter and once by the
/// compiled tier with the same options, print byte-identical serial output, timestamps included, and both reach the
/// marker. Any difference in an instruction's result, a fault's place or an interrupt's boundary shows as a different
/// console, usually a different printk timestamp. The two runs go side by side, so each test adds about one boot's time.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class CompiledTierBootAcceptanceTests
{
    /// <summary>The fewest blocks the compiled run must compile.</summary>
    private const long MinimumBlocksCompiled = 100;

    /// <summary>The fewest compiled block entries the compiled run must make (a few per cent of the boot's blocks run).</summary>
    private const long MinimumCompiledEntries = 10_000_000;

    [Fact]
    public void The686KernelPrintsTheSameConsoleOnBothTiersInDeterministicMode()
    {
        (string kernel, string busybox) = DebianGuests.EnsureI386KernelAndBusybox();
        BootsIdentically(kernel, busybox);
    }

    [Fact]
    public void TheAmd64KernelPrintsTheSameConsoleOnBothTiersInDeterministicMode()
    {
        (string kernel, string busybox) = DebianGuests.EnsureAmd64KernelAndBusybox();
        BootsIdentically(kernel, busybox);
    }

    private static void BootsIdentically(string kernel, string busybox)
    {
        string initrd = Path.Combine(Path.GetTempPath(), $"virt-{Guid.NewGuid():N}-initramfs.cpio.gz");
        File.WriteAllBytes(initrd, DebianGuests.BuildInitramfs(busybox));
        try
        {
            string[] guest =
            [
                "-M", "pc", "-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0",
                "--deterministic", "--tier-stats", "--timeout", "840",
            ];
            Task<(int Code, string Output, string Err)> interpreted =
                Task.Run(() => VirtRunProcess.RunVirt(TimeSpan.FromMinutes(15), [.. guest, "--cpu-tier", "interpreter"]));
            Task<(int Code, string Output, string Err)> compiled =
                Task.Run(() => VirtRunProcess.RunVirt(TimeSpan.FromMinutes(15), [.. guest, "--cpu-tier", "compiled"]));
            (int interpretedCode, string interpretedOutput, string interpretedErr) = interpreted.GetAwaiter().GetResult();
            (int compiledCode, string compiledOutput, string compiledErr) = compiled.GetAwaiter().GetResult();

            Assert.True(interpretedCode == 0, $"the interpreter's run exited {interpretedCode}: {interpretedErr}");
            Assert.True(compiledCode == 0, $"the compiled tier's run exited {compiledCode}: {compiledErr}");
            Assert.Contains(DebianGuests.Marker, interpretedOutput, StringComparison.Ordinal);

            // The compiled run really ran compiled code (else the comparison would prove nothing): the default policy
            // compiles a few hundred hot blocks of these boots, entered hundreds of millions of times.
            Match stats = CompiledStatistics().Match(compiledErr);
            Assert.True(stats.Success, $"no --tier-stats line: {compiledErr}");
            Assert.True(long.Parse(stats.Groups[1].Value, CultureInfo.InvariantCulture) >= MinimumBlocksCompiled, stats.Value);
            Assert.True(long.Parse(stats.Groups[2].Value, CultureInfo.InvariantCulture) >= MinimumCompiledEntries, stats.Value);

            string[] expected = interpretedOutput.Split('\n');
            string[] actual = compiledOutput.Split('\n');
            int first = Enumerable.Range(0, Math.Min(expected.Length, actual.Length)).FirstOrDefault(i => expected[i] != actual[i], -1);
            Assert.True(
                first < 0 && expected.Length == actual.Length,
                first < 0
                    ? $"the interpreter printed {expected.Length} lines, the compiled tier {actual.Length}"
                    : $"line {first} differs:\n  interpreter: {expected[first]}\n  compiled:    {actual[first]}");
            Assert.Equal(interpretedOutput, compiledOutput);
            Console.WriteLine(compiledErr.Trim());
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    [GeneratedRegex(@"tier-stats: tier=compiled .*\bblocks-compiled=(\d+) .*\bcompiled-entries=(\d+)")]
    private static partial Regex CompiledStatistics();
}
