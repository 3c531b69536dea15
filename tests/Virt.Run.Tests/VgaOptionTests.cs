using Virt.Devices;
using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary><c>-vga</c>, <c>--vga-rom</c> and <c>--screenshot</c>: parsing and the machine they give.</summary>
public sealed class VgaOptionTests
{
    [Fact]
    public void VgaOptionsParse()
    {
        RunOptions o = RunOptionsParser.Parse(["-vga", "std", "--vga-rom", "rom.bin", "--screenshot", "s.png"]);
        Assert.Equal("std", o.Vga);
        Assert.Equal("rom.bin", o.VgaRomPath);
        Assert.Equal("s.png", o.ScreenshotPath);
        Assert.Equal("none", RunOptionsParser.Parse(["-vga", "none"]).Vga);
        Assert.Null(RunOptionsParser.Parse([]).Vga);
        RunOptionsException e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(["-vga", "cirrus"]));
        Assert.Contains("cirrus", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VgaNoneRemovesTheAdapter_StdNeedsThePcBoardAndNamesAMissingRom()
    {
        using var disposables = new DisposableList();
        using (Virt.Machine.Machine none = MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-vga", "none"]), disposables))
        {
            Assert.Null(none.FindDevice<VgaAdapter>());
        }

        using (Virt.Machine.Machine isa = MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-M", "isapc"]), disposables))
        {
            Assert.NotNull(isa.FindDevice<VgaAdapter>());
            Assert.Null(isa.FindDevice<StandardVgaPciDevice>());
        }

        RunOptionsException isaStd = Assert.Throws<RunOptionsException>(() => MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-M", "isapc", "-vga", "std"]), disposables));
        Assert.Contains("-M pc", isaStd.Message, StringComparison.Ordinal);

        string missing = Path.Combine(Path.GetTempPath(), $"virt-no-vgabios-{Guid.NewGuid():N}.bin");
        RunOptionsException noRom = Assert.Throws<RunOptionsException>(() => MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-M", "pc", "-vga", "std", "--vga-rom", missing]), disposables));
        Assert.Contains(missing, noRom.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VgaStdWithARomFileGivesThePciCard()
    {
        string rom = Path.Combine(Path.GetTempPath(), $"virt-vgabios-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(rom, [0x55, 0xAA, 0x01, 0xCB]);
        try
        {
            using var disposables = new DisposableList();
            using Virt.Machine.Machine machine = MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-M", "pc", "-no-acpi", "-vga", "std", "--vga-rom", rom]), disposables);
            StandardVgaPciDevice card = machine.FindDevice<StandardVgaPciDevice>()!;
            Assert.Equal(StandardVgaPciDevice.DeviceId, card.Identity.DeviceId);
            Assert.Contains(card.Bars, b => b.Kind == PciBarKind.ExpansionRom);
        }
        finally
        {
            File.Delete(rom);
        }
    }

    [Fact]
    public void ScreenshotWritesThePngWhenTheGuestStops()
    {
        string png = Path.Combine(Path.GetTempPath(), $"virt-screenshot-{Guid.NewGuid():N}.png");
        try
        {
            (int code, _, _) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-nographic", "-m", "64M", "--deterministic", "--screenshot", png);
            Assert.Equal(0, code);
            byte[] file = File.ReadAllBytes(png);
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, file[..8]);
            Assert.Equal(720, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(16))); // IHDR width: 80 cells of 9 pixels
            Assert.Equal(400, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(20)));
        }
        finally
        {
            File.Delete(png);
        }
    }
}
