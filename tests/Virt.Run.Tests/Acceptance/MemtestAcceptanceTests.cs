using System.Text.RegularExpressions;
using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Debian's memtest86+ <c>memtest86+x64.bin</c> (6.x) booted through the Linux boot protocol as QEMU's <c>-kernel</c>
/// does, on the PC board with 64 MiB: it enters 64-bit mode from the 32-bit entry, then runs its first tests. Its
/// status screen is mirrored on serial port 1 (<c>console=ttyS0</c>) as ANSI text; the test reads the test numbers and
/// the error count from there.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class MemtestAcceptanceTests
{
    /// <summary>Wall-clock budget for the guest; the first pass's tests #0 to #3 take well under a minute on a quiet host.</summary>
    private const int GuestSeconds = 150;

    /// <summary>The test memtest86+ shows once tests #0 to #3 (the address tests and the first moving inversions) completed.</summary>
    private const int LastTestToReach = 4;

    [Fact]
    public void Memtest86PlusX64RunsItsFirstTestsWithZeroErrors()
    {
        string memtest = DebianGuests.EnsureAmd64Memtest();
        (int code, string output, string err) = VirtRunProcess.RunVirt(
            TimeSpan.FromSeconds(GuestSeconds + 60),
            ["-M", "pc", "-m", "64", "-nographic", "-kernel", memtest, "-append", "console=ttyS0,115200", "-no-reboot",
             "--timeout", GuestSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        // 124: the wall-clock budget ran out while memtest86+ was still testing, which is how it should end.
        Assert.True(code == 124, $"Virt.Run exited {code} (expected the timeout while memtest86+ runs): {err}");
        Assert.Contains("Memtest86+", output, StringComparison.OrdinalIgnoreCase);

        int highestTest = TestNumber().Matches(output).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(-1).Max();
        Assert.True(highestTest >= LastTestToReach, $"memtest86+ reached only test #{highestTest}");

        MatchCollection errors = ErrorCount().Matches(output);
        Assert.NotEmpty(errors);
        Assert.All(errors, m => Assert.Equal("0", m.Groups[1].Value));
    }

    [GeneratedRegex(@"#(\d+)\s+\[")]
    private static partial Regex TestNumber();

    [GeneratedRegex(@"Errors:\s+(\d+)")]
    private static partial Regex ErrorCount();
}
