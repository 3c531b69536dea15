using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Multiboot kernels linked low (8000h-A84Bh, over the 9000h QEMU uses for its information structure) and high (1 MiB,
/// 16 MiB), as ELF and as a.out kludge, report what they were handed (<see cref="MultibootReportKernel"/>); Virt.Run must
/// hand them what QEMU hands a kernel it can serve, though not necessarily at the same addresses.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class MultibootPlacementQemuComparisonTests
{
    private const uint HighLoadAddress = 0x10_0000;

    [Theory]
    [InlineData(0x8000u, true)]
    [InlineData(0x8000u, false)]
    [InlineData(0x10_0000u, true)]
    [InlineData(0x10_0000u, false)]
    [InlineData(0x100_0000u, true)]
    [InlineData(0x100_0000u, false)]
    public void BootInformationMatchesQemu(uint loadAddress, bool elf)
    {
        string qemu = VirtRunProcess.EnsureProgram("qemu-system-i386", "qemu-system-x86");
        string dir = Directory.CreateTempSubdirectory("virt-mbplace-").FullName;
        try
        {
            string kernel = Path.Combine(dir, elf ? "report.elf" : "report.aout");
            string module = Path.Combine(dir, "module.bin");
            File.WriteAllBytes(module, [.. Enumerable.Range(0, 0x1801).Select(i => (byte)(i * 7))]);
            string[] common = ["-m", "128M", "-kernel", kernel, "-initrd", module, "-append", "report placement", "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-display", "none", "-no-reboot"];

            File.WriteAllBytes(kernel, MultibootReportKernel.Build(loadAddress, elf));
            (int virtCode, string virtText) = Run(dir, "virt", log => VirtRunProcess.RunVirt(TimeSpan.FromMinutes(2), [.. common, "-debugcon", "file:" + log, "--timeout", "60"]));
            (int qemuCode, string qemuText) = Run(dir, "qemu", log => VirtRunProcess.Run(qemu, [.. common, "-debugcon", "file:" + log, "-accel", "tcg"], TimeSpan.FromMinutes(2)));
            ILookup<string, string> v = MultibootReportKernel.Parse(virtText);
            ILookup<string, string> q = MultibootReportKernel.Parse(qemuText);
            string both = $"\nQEMU:\n{qemuText}\nVirt:\n{virtText}";

            // Both boot it and see the boot loader's magic.
            Assert.True(q["placement"].Any() && v["placement"].Any(), "a kernel did not finish its report" + both);
            Assert.Equal(["00000001"], v["magic"]);
            Assert.Equal(["00000001"], q["magic"]);
            Assert.Equal(qemuCode, virtCode);
            Assert.Equal((MultibootReportKernel.ExitValue << 1) | 1, virtCode);

            // QEMU writes its memory map at 9000h and the information structure at 9500h whatever the kernel's place,
            // then copies the kernel image, bss zeroed, over them: a kernel at 8000h-A84Bh starts with flags 0 and nothing
            // else. The reference for what it should have been handed is then QEMU's report for the same kernel linked at
            // 1 MiB (same file name, so the same command line).
            ILookup<string, string> reference = q;
            string referenceText = qemuText;
            if (loadAddress < HighLoadAddress)
            {
                Assert.Equal(["00000000"], q["flags"]);
                File.WriteAllBytes(kernel, MultibootReportKernel.Build(HighLoadAddress, elf));
                (_, referenceText) = Run(dir, "qemu-high", log => VirtRunProcess.Run(qemu, [.. common, "-debugcon", "file:" + log, "-accel", "tcg"], TimeSpan.FromMinutes(2)));
                reference = MultibootReportKernel.Parse(referenceText);
                both += $"\nQEMU, kernel at 1 MiB:\n{referenceText}";
            }

            foreach (string field in new[] { "flags", "mem_lower", "cmdline", "mods", "mod" })
            {
                Assert.True(reference[field].SequenceEqual(v[field]), $"{field} differs" + both);
            }

            Assert.Equal([$"{kernel} report placement"], v["cmdline"]);
            Assert.Equal([$"00001801 00000001 {module}"], v["mod"]); // size, page-aligned, command line

            // The memory maps agree below 1 MiB and on where RAM above it starts; its length differs by design (QEMU's
            // SeaBIOS keeps the top 128 KiB and reports more reserved ranges; Virt's pc board keeps the last 4 KiB page
            // for its ACPI tables, reported as ACPI reclaimable, type 3), as mem_upper does.
            string[] referenceMap = [.. reference["mmap"]];
            string[] virtMap = [.. v["mmap"]];
            Assert.True(referenceMap.Length >= 4 && virtMap.Length == 5, "memory maps" + both);
            Assert.Equal(referenceMap[..3], virtMap[..3]);
            Assert.Equal(referenceMap[3].Split(' ')[..2], virtMap[3].Split(' ')[..2]);
            Assert.Equal(["00000000", "07FFF000", "00000000", "00001000", "00000003"], virtMap[4].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal([$"{(128 - 1) * 1024 - 4:X8}"], v["mem_upper"]);
            Assert.Equal(["Virt"], v["loader"]);

            // Everything Virt placed lies in valid RAM clear of the kernel, as everything QEMU placed for a kernel it can serve.
            Assert.Equal(["00000000"], v["placement"]);
            Assert.Equal(["00000000"], reference["placement"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs one emulator with its debug console in <c>{name}.txt</c>; returns its exit status and that output.</summary>
    private static (int ExitCode, string Output) Run(string dir, string name, Func<string, (int ExitCode, string Stdout, string Stderr)> run)
    {
        string log = Path.Combine(dir, name + ".txt");
        (int code, _, string stderr) = run(log);
        Assert.True(File.Exists(log), $"{name} wrote no debugcon output (exit status {code}): {stderr}");
        return (code, File.ReadAllText(log));
    }
}
