using Virt.Run.Demo;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>The built-in demo guest: real mode, LGDT, CR0.PE, a far jump to flat 32-bit code, and the facts it prints.</summary>
public sealed class DemoGuestTests
{
    [Fact]
    public void DemoGuestBootsIntoProtectedModeAndPrintsCorrectFacts()
    {
        (int code, string output, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}: {err}");

        // The CRC the guest computes over its own image must equal the host's CRC-32 of the same bytes.
        uint crc = DemoGuest.Crc32(DemoGuest.Build());
        string[] lines = output.Split('\n').Select(line => line.Trim('|', ' ', '\r')).ToArray();
        Assert.Contains("Virt demo guest: 32-bit protected mode, running in Virt.", lines);
        Assert.Contains("CPU vendor (CPUID): GenuineIntel", lines);
        Assert.Contains("Memory (CMOS): 128 MiB", lines);
        Assert.Contains($"CRC-32 of this program: 0x{crc:X8}", lines);
        Assert.Contains("Done: halting with interrupts disabled.", lines);
    }
}
