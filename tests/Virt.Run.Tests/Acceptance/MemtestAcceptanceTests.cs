using System.Text.RegularExpressions;
using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Debian's memtest86+ <c>memtest86+x64.bin</c> (6.x) booted through the Linux boot protocol as QEMU's <c>-kernel</c>
/// does, on the PC board with 64 MiB: it enters 64-bit mode from the 32-bit entry, then runs its first tests. Its status
/// screen is read where a user sees it, the VGA text buffer at B8000h (<c>--screen-text</c>, written when the run ends),
/// and from its mirror on serial port 1 (<c>console=ttyS0</c>, ANSI text); both must show the first tests done and no
/// errors. It runs on both execution tiers (issue 17: the compiled tier passes the acceptance boots as the interpreter does).
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class MemtestAcceptanceTests
{
    /// <summary>Wall-clock budget for the guest; the first pass's tests #0 to #3 take well under a minute on a quiet host.</summary>
    private const int GuestSeconds = 150;

    /// <summary>The test memtest86+ shows once tests #0 to #3 (the address tests and the first moving inversions) completed.</summary>
    private const int LastTestToReach = 4;

    [Theory]
    [InlineData("interpreter")]
    [InlineData("compiled")]
    public void Memtest86PlusX64RunsItsFirstTestsWithZeroErrors(string tier)
    {
        string memtest = DebianGuests.EnsureAmd64Memtest();
        string screenFile = Path.Combine(Path.GetTempPath(), $"virt-memtest-screen-{Guid.NewGuid():N}.txt");
        string[] screen;
        string output;
        try
        {
            (int code, output, string err) = VirtRunProcess.RunVirt(
                TimeSpan.FromSeconds(GuestSeconds + 60),
                ["-M", "pc", "-m", "64", "-nographic", "-kernel", memtest, "-append", "console=ttyS0,115200", "-no-reboot",
                 "--timeout", GuestSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--screen-text", screenFile, "--cpu-tier", tier]);

            // 124: the wall-clock budget ran out while memtest86+ was still testing, which is how it should end.
            Assert.True(code == 124, $"Virt.Run exited {code} (expected the timeout while memtest86+ runs): {err}");
            screen = File.ReadAllLines(screenFile);
        }
        finally
        {
            File.Delete(screenFile);
        }

        // The VGA text screen: memtest86+'s banner, the 64 MiB it found, the test it is on, and its error counter.
        string screenText = string.Join('\n', screen);
        Assert.Equal(25, screen.Length);
        Assert.Contains(screen, row => row.Contains("Memtest86+", StringComparison.Ordinal));
        Assert.Matches(MemorySize(), screenText);
        Match current = CurrentTest().Match(screenText);
        Assert.True(current.Success, $"no test line on the screen:\n{screenText}");
        int screenTest = int.Parse(current.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(screenTest >= LastTestToReach, $"the screen shows test #{screenTest}:\n{screenText}");
        Match screenErrors = ErrorCount().Match(screenText);
        Assert.True(screenErrors.Success, $"no error counter on the screen:\n{screenText}");
        Assert.Equal("0", screenErrors.Groups[1].Value);
        Assert.DoesNotMatch(FailedStatus(), screenText);

        // The serial mirror agrees.
        Assert.Contains("Memtest86+", output, StringComparison.OrdinalIgnoreCase);
        int highestTest = TestNumber().Matches(output).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(-1).Max();
        Assert.True(highestTest >= LastTestToReach, $"memtest86+ reached only test #{highestTest}");

        MatchCollection errors = ErrorCount().Matches(output);
        Assert.NotEmpty(errors);
        Assert.All(errors, m => Assert.Equal("0", m.Groups[1].Value));
    }

    /// <summary>memtest86+ 6.x's test line in the status panel, e.g. <c>Test #4  [Moving inversions, 8 bit pattern]</c>.</summary>
    [GeneratedRegex(@"Test #(\d+)\s+\[")]
    private static partial Regex CurrentTest();

    /// <summary>The memory line of the system panel, e.g. <c>Memory  :   64MB</c> (memtest's own detection of the guest's RAM).</summary>
    [GeneratedRegex(@"Memory\s*:\s*6[34]\.?\d*MB")]
    private static partial Regex MemorySize();

    /// <summary>The status memtest86+ shows after an error (<c>Status: Failed!</c>).</summary>
    [GeneratedRegex(@"Status:\s*Fail")]
    private static partial Regex FailedStatus();

    [GeneratedRegex(@"#(\d+)\s+\[")]
    private static partial Regex TestNumber();

    [GeneratedRegex(@"Errors:\s+(\d+)")]
    private static partial Regex ErrorCount();
}
