using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Board;

/// <summary>
/// Debian's <c>vgabios-stdvga.bin</c> (package <c>seabios</c>) initialises the std VGA and sets modes through INT 10h.
/// The test plays the firmware's part: it places the BARs, opens the C0000h shadow RAM, copies the ROM there and lets
/// a real-mode guest call its entry point.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class VgaBiosAcceptanceTests
{
    private const string RomPath = "/usr/share/seabios/vgabios-stdvga.bin";
    private const uint LfbAddress = 0xFD00_0000;
    private const uint MmioAddress = 0xFEBF_0000;
    private const uint Results = 0x600;

    [Fact]
    public void VgaBiosSetsTextMode13hAndAVbeMode()
    {
        Assert.True(File.Exists(RomPath), $"{RomPath} is missing: install Debian's seabios package.");
        byte[] rom = File.ReadAllBytes(RomPath);
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.mov(ds, ax);
            a.mov(ax, 0x0010);                   // bus 0, device 2, function 0
            a.call(0xC000, 0x0003);              // the option ROM's initialisation entry
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__byte_ptr[Results], 1);       // came back
            a.mov(ax, 0x0013);
            a.@int(0x10);
            a.mov(ax, 0xA000);
            a.mov(ds, ax);
            a.mov(__byte_ptr[0], 4);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__byte_ptr[Results + 1], 2);
            a.mov(ax, 0x4F02);
            a.mov(bx, 0x4112);                   // VBE mode 112h (640x480, 24 bits) with the linear framebuffer
            a.@int(0x10);
            a.mov(__word_ptr[Results + 2], ax);
            a.hlt();
        });

        using Machine machine = new MachineBuilder()
            .WithMemorySize(32UL << 20)
            .WithPciBus()
            .WithVga(VgaKind.Standard, RomPath)
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "vgabios caller"))
            .Build();
        StandardVgaPciDevice card = machine.FindDevice<StandardVgaPciDevice>()!;
        card.WriteConfiguration(0x10, 4, LfbAddress);
        card.WriteConfiguration(0x18, 4, MmioAddress);
        card.WriteConfiguration(0x04, 2, 0x0003);
        PciDevice hostBridge = machine.Devices.OfType<PciDevice>().First(d => d.Identity.DeviceId == 0x1237);
        for (int register = 0x5A; register <= 0x5B; register++)
        {
            hostBridge.WriteConfiguration(register, 1, 0x33); // C0000h-CFFFFh: reads and writes to shadow RAM
        }

        machine.Memory.Write(new PhysicalAddress(0xC0000), rom);
        MachineStopReason stop = machine.Run(maxInstructions: 50_000_000);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);
        Assert.Equal(1, machine.Memory.ReadByte(new PhysicalAddress(Results)));
        Assert.Equal(2, machine.Memory.ReadByte(new PhysicalAddress(Results + 1)));
        Assert.Equal(0x004F, machine.Memory.ReadWord(new PhysicalAddress(Results + 2))); // VBE call supported and successful

        VgaAdapter vga = machine.FindDevice<VgaAdapter>()!;
        Assert.True(vga.VbeModeEnabled);
        VgaFrame frame = vga.Render();
        Assert.Equal((640, 480), (frame.Width, frame.Height));
        Assert.Equal(24, vga.GetVbeRegister(VgaAdapter.VbeIndexBpp));
    }
}
