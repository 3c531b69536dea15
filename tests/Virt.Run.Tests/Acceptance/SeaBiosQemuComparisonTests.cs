using System.Text.RegularExpressions;
using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Debian's SeaBIOS boots on Virt's pc board (<c>-M pc -nographic</c>, no disk) and prints on the serial console what
/// it prints under QEMU: the same banner, the same boot attempts, and "No bootable device." without a fault.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class SeaBiosQemuComparisonTests
{
    private const string NoBootableDevice = "No bootable device.";

    /// <summary>Where Debian's seabios package puts its images.</summary>
    private const string SeaBiosDirectory = "/usr/share/seabios";

    /// <summary>
    /// Boot attempts QEMU makes that Virt does not, each with the reason (docs/boot.md lists them too). QEMU's PIIX3 IDE
    /// function (00:01.1) has an empty ATAPI CD-ROM on the secondary channel by default; Virt's has the IDE function
    /// but no drive unless one is given, so SeaBIOS finds no CD drive.
    /// </summary>
    private static readonly string[] s_qemuOnlyAttempts = ["DVD/CD"];

    [Theory]
    [InlineData("bios-256k.bin")]
    [InlineData("bios.bin")]
    public void SeaBiosPrintsTheSameBannerAndBootSequenceAsUnderQemu(string image)
    {
        string qemu = VirtRunProcess.EnsureProgram("qemu-system-x86_64", "qemu-system-x86");
        string bios = Path.Combine(SeaBiosDirectory, image);
        if (!File.Exists(bios))
        {
            VirtRunProcess.EnsureProgram("qemu-system-x86_64", "seabios");
            Assert.True(File.Exists(bios), $"{bios} is missing; install Debian's seabios package");
        }

        string[] common = ["-M", "pc", "-bios", bios, "-nographic", "-no-reboot"];
        (bool qemuDone, _, string qemuOut, string qemuErr) = VirtRunProcess.RunUntil(
            qemu, [.. common, "-vga", "none", "-net", "none", "-accel", "tcg"], NoBootableDevice, TimeSpan.FromMinutes(2));
        (bool virtDone, int? virtExit, string virtOut, string virtErr) = VirtRunProcess.RunUntil(
            "dotnet", [VirtRunProcess.VirtRunDll, .. common, "--timeout", "120"], NoBootableDevice, TimeSpan.FromMinutes(3));

        Assert.True(qemuDone, "QEMU did not reach 'No bootable device': " + qemuOut + qemuErr);
        Assert.True(virtDone, $"Virt did not reach 'No bootable device' (exit {virtExit}): {virtOut}{virtErr}");

        // SeaBIOS waits for ever after the message (QEMU's etc/boot-fail-wait is -1), so neither ends by itself; a
        // triple fault or reset loop would have stopped Virt (-no-reboot) before the message, with status 4.
        Assert.Null(virtExit);
        Assert.DoesNotContain("triple fault", virtErr, StringComparison.OrdinalIgnoreCase);

        string[] qemuLines = ConsoleLines(qemuOut);
        string[] virtLines = ConsoleLines(virtOut);

        // The banner: the same file, so the same version line, first on the console under both.
        Assert.StartsWith("SeaBIOS (version ", qemuLines[0], StringComparison.Ordinal);
        Assert.Equal(qemuLines[0], virtLines[0]);

        // The boot attempts, each with its outcome, and the final message.
        string[] qemuAttempts = BootAttempts(qemuLines).Where(a => !s_qemuOnlyAttempts.Any(a.Contains)).ToArray();
        string[] virtAttempts = BootAttempts(virtLines);
        Assert.NotEmpty(virtAttempts);

        // QEMU tries the hard disk first because its kvmvapic.bin option ROM, which has no PnP header, is registered by
        // SeaBIOS as a legacy boot-connection vector at the hard disk's CMOS priority; Virt has no such ROM, so SeaBIOS
        // adds its fall-back floppy and hard disk entries in its own order (floppy first). The set of attempts and each
        // one's outcome match; the order is a justified difference.
        Assert.Equal(qemuAttempts.Order(StringComparer.Ordinal), virtAttempts.Order(StringComparer.Ordinal));
        Assert.Equal(NoBootableDevice, qemuLines[^1]);
        Assert.Equal(NoBootableDevice, virtLines[^1]);

        // Nothing else on Virt's console: every line is the banner, an attempt or the final message.
        Assert.Equal(1 + (2 * virtAttempts.Length) + 1, virtLines.Length);
    }

    /// <summary>The serial text as lines: SeaBIOS's terminal set-up sequences and carriage returns removed, empty lines dropped.</summary>
    private static string[] ConsoleLines(string output) =>
        EscapeSequence().Replace(output, string.Empty)
            .Replace("\r", string.Empty, StringComparison.Ordinal)
            .Split('\n')
            .Select(l => l.TrimEnd())
            .Where(l => l.Length > 0)
            .ToArray();

    /// <summary>Each "Booting from X..." line joined with the outcome line that follows it.</summary>
    private static string[] BootAttempts(string[] lines) =>
        lines.Select((line, i) => (line, i))
            .Where(t => t.line.StartsWith("Booting from ", StringComparison.Ordinal))
            .Select(t => t.line + " | " + (t.i + 1 < lines.Length ? lines[t.i + 1] : string.Empty))
            .ToArray();

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|[a-zA-Z])")]
    private static partial Regex EscapeSequence();
}
