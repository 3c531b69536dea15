using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// SeaBIOS boots what users have: a raw MBR disk with syslinux (<c>-hda</c>), a GRUB ISO (<c>-cdrom -boot d</c>), a
/// syslinux floppy that starts a Multiboot kernel (<c>-fda</c>), and Linux reads and writes an ext2 disk through
/// <c>ata_piix</c> on a qcow2 overlay with <c>-snapshot</c>. Each runs with the same command line in Virt.Run and in
/// qemu-system-i386 (the reference); the serial consoles must agree apart from <see cref="StorageDifferences"/>, and the
/// boot times of both are written to the test output. The images are built by <see cref="StorageImages"/>.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class StorageBootAcceptanceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_virtTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan s_qemuTimeout = TimeSpan.FromMinutes(15);

    /// <summary>The pc machine both run, on the serial console, with no reboot after the guest powers off.</summary>
    private static readonly string[] s_machine = ["-M", "pc", "-m", "256M", "-nographic", "-no-reboot"];

    /// <summary>What only QEMU is given: software emulation like Virt, and none of its default network card (and iPXE ROM).</summary>
    private static readonly string[] s_qemuOnly = ["-accel", "tcg", "-net", "none"];

    /// <summary>
    /// Lines dropped from both consoles on top of <see cref="LinuxConsoleComparison.ExpectedDifferences"/>, each with the
    /// reason (docs/storage.md lists them).
    /// </summary>
    private static readonly (Regex Pattern, string Reason)[] StorageDifferences =
    [
        (new Regex(@"^(ata\d|scsi \d|sd \d|sr \d|scsi host)"), "the drives' identities: Virt's IDENTIFY and INQUIRY data name Virt (model, firmware revision, serial number), QEMU's name QEMU"),
        (new Regex(@"^\.+ ?(failed|works)\.?$"), "timing: the kernel's check that the timer interrupt arrives through the I/O APIC depends on host speed (QEMU on a loaded host fails it and falls back to virtual wire)"),
        (new Regex(@"enabling device \(0000 -> 0001\)"), "Virt boots -kernel without firmware, so the kernel itself turns on the IDE function's I/O decoding; under QEMU SeaBIOS did it before"),
    ];

    /// <summary>Rewrites applied to both consoles' kernel lines, each with the reason.</summary>
    private static readonly (Regex Pattern, string Replacement, string Reason)[] StorageRewrites =
    [
        (new Regex(@"/input/input\d+"), "/input/inputN", "the input devices are numbered in the order the i8042's keyboard and mouse probes finish, which differs between the two"),
    ];

    [Fact]
    public void SeaBiosBootsSyslinuxFromARawMbrHardDiskToTheMarker()
    {
        string dir = Directory.CreateTempSubdirectory("virt-hd-").FullName;
        try
        {
            // A private copy: nothing the guest does may change the cached image.
            string disk = Path.Combine(dir, "disk.img");
            File.Copy(StorageImages.SyslinuxHardDisk(), disk);
            Boots boots = RunBoth("raw MBR disk, syslinux", [.. s_machine, "-drive", $"file={disk},format=raw,if=ide,index=0"]);
            AssertLinuxConsolesAgree(boots, lastBootloaderLineStart: "Probing EDD");
            Assert.Contains("Booting from Hard Disk...", boots.Virt.Output, StringComparison.Ordinal);
            Assert.Matches(@"SYSLINUX \d+\.\d+", boots.Virt.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeaBiosBootsAGrubIsoFromTheCdromToTheMarker()
    {
        string iso = StorageImages.GrubCdrom();
        Boots boots = RunBoth("GRUB ISO, -cdrom -boot d", [.. s_machine, "-cdrom", iso, "-boot", "d"]);
        AssertLinuxConsolesAgree(boots, lastBootloaderLineStart: string.Empty);
        Assert.Contains("Booting from DVD/CD...", boots.Virt.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Booting from Hard Disk...", boots.Virt.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void SeaBiosBootsASyslinuxFloppyThatStartsAMultibootKernelThroughMboot()
    {
        string dir = Directory.CreateTempSubdirectory("virt-fd-").FullName;
        try
        {
            string floppy = Path.Combine(dir, "floppy.img");
            File.Copy(StorageImages.SyslinuxMultibootFloppy(), floppy);
            string virtReport = Path.Combine(dir, "virt.txt");
            string qemuReport = Path.Combine(dir, "qemu.txt");
            string[] guest = [.. s_machine, "-drive", $"file={floppy},format=raw,if=floppy", "-boot", "a", "-device", "isa-debug-exit,iobase=0x501,iosize=2"];
            Boots boots = RunBoth("1.44 MB floppy, syslinux + mboot.c32", guest, qemuExtra: ["-debugcon", "file:" + qemuReport], virtExtra: ["-debugcon", "file:" + virtReport]);

            int expected = (MultibootReportKernel.ExitValue << 1) | 1;
            Assert.True(boots.Qemu.ExitCode == expected, $"QEMU exited {boots.Qemu.ExitCode}: {boots.Qemu.Error}\n{boots.Qemu.Output}");
            Assert.True(boots.Virt.ExitCode == expected, $"Virt.Run exited {boots.Virt.ExitCode}: {boots.Virt.Error}\n{boots.Virt.Output}");
            Assert.Contains("Booting from Floppy...", boots.Virt.Output, StringComparison.Ordinal);

            // The kernel's report of what mboot.c32 handed it: the loader's name, the command line, the memory map.
            ILookup<string, string> qemu = MultibootReportKernel.Parse(File.ReadAllText(qemuReport));
            ILookup<string, string> virt = MultibootReportKernel.Parse(File.Exists(virtReport) ? File.ReadAllText(virtReport) : string.Empty);
            Assert.Equal("00000001", Assert.Single(virt["magic"]));
            Assert.EndsWith(StorageImages.MultibootArguments, Assert.Single(virt["cmdline"]), StringComparison.Ordinal);
            Assert.Equal(ReportLines(qemu, withTopOfRam: false), ReportLines(virt, withTopOfRam: false));

            // The top of RAM differs by design: SeaBIOS reserves the top of RAM below 4 GiB for the tables it builds from
            // what the board gives it (ACPI, SMBIOS, its own high zone), and QEMU's board gives it more (observed: 124 KiB
            // more), so mem_upper and the length of the RAM entry at 1 MiB are that much smaller under QEMU.
            uint qemuUpper = Convert.ToUInt32(Assert.Single(qemu["mem_upper"]), 16);
            uint virtUpper = Convert.ToUInt32(Assert.Single(virt["mem_upper"]), 16);
            Assert.InRange(virtUpper, qemuUpper, qemuUpper + 1024);
            AssertBootloaderLinesAgree(boots.Qemu.Output, boots.Virt.Output, "Loading report.elf...");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void LinuxWritesAnExt2DiskThroughAtaPiixOnAQcow2OverlayAndTheBaseNeverChanges()
    {
        (string kernel, _) = DebianGuests.EnsureI386KernelAndBusybox();
        string initrd = StorageImages.AtaInitramfs();
        string qemuImg = VirtRunProcess.EnsureProgram("qemu-img", "qemu-utils");
        string dir = Directory.CreateTempSubdirectory("virt-ext2-").FullName;
        try
        {
            string baseImage = Path.Combine(dir, "base.img");
            File.Copy(StorageImages.Ext2Disk(), baseImage);
            string overlay = Path.Combine(dir, "overlay.qcow2");
            Check(VirtRunProcess.Run(qemuImg, ["create", "-q", "-f", "qcow2", "-b", baseImage, "-F", "raw", overlay], TimeSpan.FromMinutes(1)), "qemu-img create");
            string baseHash = StorageImages.Hash(baseImage);
            string overlayHash = StorageImages.Hash(overlay);
            string[] guest = [.. s_machine, "-kernel", kernel, "-initrd", initrd, "-append", StorageImages.KernelCommandLine, "-drive", $"file={overlay},format=qcow2,if=ide,index=0"];

            // 1. -snapshot: the guest writes, reads its file back from a fresh mount, and neither file changes.
            Boots boots = RunBoth("ext2 through ata_piix, qcow2 overlay, -snapshot", [.. guest, "-snapshot"]);
            // Virt boots -kernel directly, QEMU through SeaBIOS and its linuxboot ROM: only the kernels' lines compare.
            AssertLinuxConsolesAgree(boots, lastBootloaderLineStart: null);
            foreach (string console in new[] { boots.Qemu.Output, boots.Virt.Output })
            {
                Assert.Contains(StorageImages.BaseFileLine, console, StringComparison.Ordinal);
                Assert.Contains(StorageImages.WrittenFileLine, console, StringComparison.Ordinal);
                Assert.DoesNotContain(StorageImages.FoundPrefix, console, StringComparison.Ordinal);
            }

            Assert.Contains("ata_piix", boots.Virt.Output, StringComparison.Ordinal);
            Assert.Equal(baseHash, StorageImages.Hash(baseImage));
            Assert.Equal(overlayHash, StorageImages.Hash(overlay));

            // 2. Without -snapshot Virt writes into the qcow2 overlay: qemu-img finds it consistent, the base is untouched,
            // and QEMU, booting the overlay next, finds the file Virt's guest wrote.
            (int code, string virtOutput, string virtError) = VirtRunProcess.RunVirt(s_virtTimeout, [.. guest, "--timeout", "840"]);
            Assert.True(code == 0, $"Virt.Run exited {code}: {virtError}\n{virtOutput}");
            Assert.Contains(StorageImages.WrittenFileLine, virtOutput, StringComparison.Ordinal);
            Check(VirtRunProcess.Run(qemuImg, ["check", "-q", overlay], TimeSpan.FromMinutes(1)), "qemu-img check");
            Assert.Equal(baseHash, StorageImages.Hash(baseImage));
            Assert.NotEqual(overlayHash, StorageImages.Hash(overlay));
            string qemu = VirtRunProcess.EnsureProgram("qemu-system-i386", "qemu-system-x86");
            (int qemuCode, string qemuOutput, string qemuError) = VirtRunProcess.Run(qemu, [.. guest, "-snapshot", .. s_qemuOnly], s_qemuTimeout);
            Assert.True(qemuCode == 0, $"QEMU exited {qemuCode}: {qemuError}");
            Assert.Contains(StorageImages.FoundPrefix + StorageImages.WrittenFileLine, qemuOutput, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The kernel's console from "Linux version" to the marker, normalised for comparison (see the class summary).</summary>
    /// <remarks>
    /// Sorted: the kernel unpacks the initramfs and probes the ATA ports asynchronously, so where their lines fall among
    /// the others depends on timing; every line must still be there, as often.
    /// </remarks>
    private static IReadOnlyList<string> KernelLines(string console) =>
        LinuxConsoleComparison.Normalise(console, DebianGuests.Marker)
            .Where(l => !StorageDifferences.Any(d => d.Pattern.IsMatch(l)))
            .Select(l => StorageRewrites.Aggregate(l, (line, r) => r.Pattern.Replace(line, r.Replacement)))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// What SeaBIOS and the boot loader print before the kernel starts: the banner, the boot attempts and the loader's
    /// own lines, without escape sequences and empty lines. (QEMU's pc has an empty CD-ROM drive by default and Virt's
    /// does not; no scenario's boot order reaches it before the device that boots.)
    /// </summary>
    private static List<string> BootloaderLines(string console)
    {
        var lines = new List<string>();
        foreach (string raw in EscapeSequence().Replace(console, string.Empty).Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n'))
        {
            string line = raw.TrimEnd();
            if (PrintkTimestamp().Match(line) is { Success: true } kernel)
            {
                // The kernel's first line may follow what the firmware printed last on the same line.
                if (line[..kernel.Index].TrimEnd() is { Length: > 0 } before)
                {
                    lines.Add(before);
                }

                break;
            }

            if (line.StartsWith("magic ", StringComparison.Ordinal))
            {
                break;
            }

            if (line.Length > 0)
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    /// <summary>
    /// The report's lines in order, as "name value"; without the top of RAM, mem_upper is left out and each memory-map
    /// entry from 1 MiB up is reduced to its type (the RAM entry ends, and the reserved one after it starts, at the top of RAM).
    /// </summary>
    private static string[] ReportLines(ILookup<string, string> report, bool withTopOfRam) =>
        report.SelectMany(g => g.Select(v => (g.Key, Value: v)))
            .Where(l => withTopOfRam || l.Key != "mem_upper")
            .Select(l => withTopOfRam || l.Key != "mmap" || !IsAboveOneMegabyte(l.Value) ? $"{l.Key} {l.Value}" : $"{l.Key} {MmapBaseAndType(l.Value)}")
            .ToArray();

    /// <summary>Whether a report's mmap line ("base-high base-low length-high length-low type") starts at 1 MiB or above.</summary>
    private static bool IsAboveOneMegabyte(string mmap)
    {
        string[] f = mmap.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return f.Length == 5 && (Convert.ToUInt32(f[0], 16) != 0 || Convert.ToUInt32(f[1], 16) >= 0x10_0000);
    }

    private static string MmapBaseAndType(string mmap)
    {
        string[] f = mmap.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return $"type {f[4]}";
    }

    private static void Check((int ExitCode, string Stdout, string Stderr) result, string what) =>
        Assert.True(result.ExitCode == 0, $"{what} failed ({result.ExitCode}): {result.Stderr}{result.Stdout}");

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|[a-zA-Z])")]
    private static partial Regex EscapeSequence();

    [GeneratedRegex(@"\[\s*\d+\.\d+\]")]
    private static partial Regex PrintkTimestamp();

    /// <summary>
    /// Compares what the firmware and the boot loader printed. The last line may be cut short under Virt: the next stage
    /// (the kernel reprogramming the UART, or the Multiboot kernel's isa-debug-exit) can come while its last character is
    /// still in Virt's UART transmitter, which QEMU's UART never holds.
    /// </summary>
    private static void AssertBootloaderLinesAgree(string qemuConsole, string virtConsole, string lastLineStart)
    {
        List<string> qemu = BootloaderLines(qemuConsole);
        List<string> virt = BootloaderLines(virtConsole);
        Assert.True(virt.Count > 0 && qemu.Count == virt.Count, $"QEMU:\n{string.Join('\n', qemu)}\nVirt:\n{string.Join('\n', virt)}");
        Assert.Equal(qemu[..^1], virt[..^1]);
        Assert.StartsWith(lastLineStart, virt[^1], StringComparison.Ordinal);
        Assert.StartsWith(virt[^1], qemu[^1], StringComparison.Ordinal);
    }

    /// <summary>Both boots succeeded to the marker with status 0, and their consoles agree.</summary>
    /// <param name="boots">The two runs.</param>
    /// <param name="lastBootloaderLineStart">How the boot loader's last line starts, or null when Virt boots the kernel directly (no firmware lines to compare).</param>
    private static void AssertLinuxConsolesAgree(Boots boots, string? lastBootloaderLineStart)
    {
        Assert.True(boots.Qemu.ExitCode == 0, $"QEMU exited {boots.Qemu.ExitCode}: {boots.Qemu.Error}\n{boots.Qemu.Output}");
        Assert.True(boots.Virt.ExitCode == 0, $"Virt.Run exited {boots.Virt.ExitCode}: {boots.Virt.Error}\n{boots.Virt.Output}");
        Assert.Contains(DebianGuests.Marker, boots.Qemu.Output, StringComparison.Ordinal);
        Assert.Contains(DebianGuests.Marker, boots.Virt.Output, StringComparison.Ordinal);
        if (lastBootloaderLineStart is not null)
        {
            AssertBootloaderLinesAgree(boots.Qemu.Output, boots.Virt.Output, lastBootloaderLineStart);
        }

        IReadOnlyList<string> qemu = KernelLines(boots.Qemu.Output);
        IReadOnlyList<string> virt = KernelLines(boots.Virt.Output);
        Assert.True(virt.Count >= 20, $"only {virt.Count} kernel lines:\n{string.Join('\n', virt)}");
        Assert.Equal(qemu, virt);
    }

    /// <summary>Runs the guest in QEMU, then in Virt.Run, with the same options; writes both boot times to the test output.</summary>
    private Boots RunBoth(string scenario, string[] guest, string[]? qemuExtra = null, string[]? virtExtra = null)
    {
        string qemu = VirtRunProcess.EnsureProgram("qemu-system-i386", "qemu-system-x86");
        Stopwatch clock = Stopwatch.StartNew();
        (int qemuCode, string qemuOut, string qemuErr) = VirtRunProcess.Run(qemu, [.. guest, .. qemuExtra ?? [], .. s_qemuOnly], s_qemuTimeout);
        TimeSpan qemuTime = clock.Elapsed;
        clock.Restart();
        (int virtCode, string virtOut, string virtErr) = VirtRunProcess.RunVirt(s_virtTimeout, [.. guest, .. virtExtra ?? [], "--timeout", "840"]);
        TimeSpan virtTime = clock.Elapsed;
        output.WriteLine($"{scenario}: Virt {virtTime.TotalSeconds:F1} s, QEMU (TCG) {qemuTime.TotalSeconds:F1} s: {string.Join(' ', guest)}");
        if (Environment.GetEnvironmentVariable("VIRT_CONSOLE_DUMP") is { Length: > 0 } dump)
        {
            File.WriteAllText($"{dump}.{TestNameSafe(scenario)}.virt", virtOut + virtErr);
            File.WriteAllText($"{dump}.{TestNameSafe(scenario)}.qemu", qemuOut + qemuErr);
        }

        return new Boots(new Boot(qemuCode, qemuOut, qemuErr, qemuTime), new Boot(virtCode, virtOut, virtErr, virtTime));
    }

    private static string TestNameSafe(string text) => new(text.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());

    /// <summary>One run: exit status, standard output (the serial console), standard error, wall-clock time.</summary>
    private sealed record Boot(int ExitCode, string Output, string Error, TimeSpan Time);

    /// <summary>The reference run and Virt's.</summary>
    private sealed record Boots(Boot Qemu, Boot Virt);
}
