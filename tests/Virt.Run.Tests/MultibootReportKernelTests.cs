using Virt.Devices;
using Virt.Machine;
using Virt.Machine.Boot;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>
/// The report kernels of the QEMU comparison, linked low and high, ELF and a.out kludge, booted in-process: what they
/// see must be the boot information Virt promises, placed clear of them (the QEMU side is in the Acceptance category).
/// </summary>
public sealed class MultibootReportKernelTests
{
    [Theory]
    [InlineData(0x8000u, true)]
    [InlineData(0x8000u, false)]
    [InlineData(0x10_0000u, true)]
    [InlineData(0x100_0000u, false)]
    public void KernelSeesTheBootInformationClearOfItself(uint loadAddress, bool elf)
    {
        string dir = Directory.CreateTempSubdirectory("virt-mbreport-").FullName;
        try
        {
            string kernel = Path.Combine(dir, "report.k");
            string module = Path.Combine(dir, "module.bin");
            File.WriteAllBytes(kernel, MultibootReportKernel.Build(loadAddress, elf));
            File.WriteAllBytes(module, new byte[0x1801]);
            var console = new BufferCharacterSink();
            // The ISA board, whose RAM map is E820Map.CreatePc's alone (the pc board reserves its ACPI tables at the top of RAM too).
            using Virt.Machine.Machine machine = new MachineBuilder()
                .WithBoard(MachineBoard.IsaPc)
                .WithMemorySize(64UL << 20)
                .WithKernel(kernel, module, "report in-process")
                .WithDebugConsole(console)
                .WithDebugExit()
                .Build();
            MachineStopReason stop = machine.Run(maxInstructions: 2_000_000);
            string text = console.GetText();
            ILookup<string, string> report = MultibootReportKernel.Parse(text);

            Assert.True(stop.Kind == MachineStopKind.DebugExit, $"{stop}\n{text}");
            Assert.Equal((MultibootReportKernel.ExitValue << 1) | 1, stop.ExitCode); // isa-debug-exit: (value << 1) | 1
            Assert.Equal(["00000001"], report["magic"]);
            Assert.Equal(["0000024F"], report["flags"]); // memory, boot device, cmdline, modules, mmap, loader name
            Assert.Equal(["0000027F"], report["mem_lower"]); // 639 KiB
            Assert.Equal([$"{63 * 1024:X8}"], report["mem_upper"]);
            Assert.Equal([$"{kernel} report in-process"], report["cmdline"]);
            Assert.Equal([MultibootLoader.BootLoaderName], report["loader"]);
            Assert.Equal(["00000001"], report["mods"]);
            Assert.Equal([$"00001801 00000001 {module}"], report["mod"]);
            string[] expectedMap = [.. E820Map.CreatePc(64UL << 20).Select(e =>
                $"{e.Start.Value >> 32:X8} {e.Start.Value & 0xFFFF_FFFF:X8} {e.SizeInBytes >> 32:X8} {e.SizeInBytes & 0xFFFF_FFFF:X8} {(uint)e.Type:X8}")];
            Assert.Equal(expectedMap, report["mmap"]);
            Assert.Equal(["00000000"], report["placement"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
