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
    private const uint GdtAddress = 0x800;
    private const uint GdtrAddress = 0x810;

    [Fact]
    public void VgaBiosSetsTextMode13hAndAVbeMode()
    {
        Assert.True(File.Exists(RomPath), $"{RomPath} is missing: install Debian's seabios package.");
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            Post(a);
            a.mov(__byte_ptr[Results], 1);       // came back
            a.mov(ax, 0x0013);
            a.@int(0x10);
            a.mov(ax, 0xA000);
            a.mov(ds, ax);
            a.mov(__byte_ptr[0], 4);
            a.mov(bl, __byte_ptr[0]);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__byte_ptr[Results + 1], 2);
            a.mov(__byte_ptr[Results + 5], bl);  // the pixel read back
            a.mov(dx, 0x3C4);
            a.mov(al, 0x04);
            a.@out(dx, al);
            a.inc(dx);
            a.@in(al, dx);
            a.mov(__byte_ptr[Results + 4], al);  // sequencer memory mode of mode 13h
            a.mov(ax, 0x4F02);
            a.mov(bx, 0x4112);                   // VBE mode 112h (640x480, 24 bits) with the linear framebuffer
            a.@int(0x10);
            a.mov(__word_ptr[Results + 2], ax);
            a.xor(bx, bx);
            a.mov(ds, bx);                       // the 4 GiB limit stays: write the first pixel through the LFB
            a.mov(edi, LfbAddress);
            a.mov(__dword_ptr[edi], 0x0012_3456);
            a.hlt();
        });

        using Machine machine = BuildMachine(code);
        MachineStopReason stop = machine.Run(maxInstructions: 50_000_000);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);
        Assert.NotEqual((ushort)0x100, machine.Cpu.SaveState().Segments[1].Selector); // not halted in an unexpected interrupt's stub
        Assert.Equal(1, machine.Memory.ReadByte(new PhysicalAddress(Results)));
        Assert.Equal(2, machine.Memory.ReadByte(new PhysicalAddress(Results + 1)));
        Assert.Equal(0x0E, machine.Memory.ReadByte(new PhysicalAddress(Results + 4)));   // chain-4, sequential, extended memory
        Assert.Equal(4, machine.Memory.ReadByte(new PhysicalAddress(Results + 5)));
        Assert.Equal(0x004F, machine.Memory.ReadWord(new PhysicalAddress(Results + 2))); // VBE call supported and successful

        VgaAdapter vga = machine.FindDevice<VgaAdapter>()!;
        Assert.True(vga.VbeModeEnabled);
        VgaFrame frame = vga.Render();
        Assert.Equal((640, 480), (frame.Width, frame.Height));
        Assert.Equal(24, vga.GetVbeRegister(VgaAdapter.VbeIndexBpp));
        Assert.Equal(0x123456, frame.GetPixelRgb(0, 0));
    }

    [Fact]
    public void VgaBiosTextModeUsesItsOwnFontFromPlane2()
    {
        Assert.True(File.Exists(RomPath), $"{RomPath} is missing: install Debian's seabios package.");
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            Post(a);
            a.mov(ax, 0x0003);
            a.@int(0x10);
            foreach (char c in "Hi")
            {
                a.mov(ax, (ushort)(0x0E00 | c)); // teletype output
                a.mov(bx, 0x0007);
                a.@int(0x10);
            }

            a.hlt();
        });

        using Machine machine = BuildMachine(code);
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 50_000_000).Kind);
        VgaAdapter vga = machine.FindDevice<VgaAdapter>()!;
        Assert.Equal("Hi", vga.GetScreenText()[0]);

        // The IBM 8x16 'H' the VGA BIOS loads into font slot 0 (plane 2, 32 bytes a character).
        byte[] ibmH = [0x00, 0x00, 0xC6, 0xC6, 0xC6, 0xC6, 0xFE, 0xC6, 0xC6, 0xC6, 0xC6, 0xC6, 0x00, 0x00, 0x00, 0x00];
        for (int y = 0; y < ibmH.Length; y++)
        {
            Assert.Equal(ibmH[y], vga.ReadPlane(2, ('H' * VgaAdapter.FontGlyphStrideInBytes) + y));
        }

        VgaFrame frame = vga.Render(drawCursor: false);
        Assert.Equal((720, 400), (frame.Width, frame.Height));
        Assert.Equal(0xAAAAAA, frame.GetPixelRgb(0, 6)); // row 6 = FEh: columns 0-6 on
        Assert.Equal(0x000000, frame.GetPixelRgb(7, 6));
        Assert.Equal(0x000000, frame.GetPixelRgb(2, 2)); // row 2 = C6h: 1100_0110
        Assert.Equal(0xAAAAAA, frame.GetPixelRgb(5, 2));
    }

    /// <summary>Enters big real mode and calls the ROM's initialisation entry with AX = the card's bus/device/function.</summary>
    private static void Post(Iced.Intel.Assembler a)
    {
        a.cli();
        a.xor(ax, ax);
        a.mov(ss, ax);
        a.mov(sp, 0x7000);
        a.mov(ds, ax);

        // Big real mode, as SeaBIOS runs option ROMs (its farcall16big): DS, ES, FS and GS get 4 GiB limits in
        // protected mode and keep them back in real mode, so the ROM can reach the BARs with 32-bit offsets.
        a.lgdt(__[GdtrAddress]);
        a.mov(eax, cr0);
        a.or(al, 1);
        a.mov(cr0, eax);
        a.mov(bx, 0x08);
        a.mov(ds, bx);
        a.mov(es, bx);
        a.mov(fs, bx);
        a.mov(gs, bx);
        a.and(al, 0xFE);
        a.mov(cr0, eax);
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(fs, ax);
        a.mov(gs, ax);
        a.mov(ax, 0x0010);               // bus 0, device 2, function 0
        a.call(0xC000, 0x0003);          // the option ROM's initialisation entry
        a.xor(ax, ax);
        a.mov(ds, ax);
    }

    /// <summary>The machine with the ROM placed as firmware would: BARs, C0000h-CFFFFh shadow RAM, the ROM copied there.</summary>
    private static Machine BuildMachine(byte[] code)
    {
        Machine machine = new MachineBuilder()
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

        machine.Memory.Write(new PhysicalAddress(0xC0000), File.ReadAllBytes(RomPath));

        // A GDT with one flat data descriptor (base 0, limit 4 GiB, writable) at 08h, for big real mode.
        machine.Memory.WriteQuadWord(new PhysicalAddress(GdtAddress + 8), 0x00CF_9200_0000_FFFFUL);
        machine.Memory.WriteWord(new PhysicalAddress(GdtrAddress), 0x0F);
        machine.Memory.WriteDoubleWord(new PhysicalAddress(GdtrAddress + 2), GdtAddress);
        // Every interrupt vector points at its own HLT in 0100:00xx, so a call the test did not expect stops there.
        for (int v = 0; v < 256; v++)
        {
            machine.Memory.WriteWord(new PhysicalAddress((ulong)(v * 4)), (ushort)v);
            machine.Memory.WriteWord(new PhysicalAddress((ulong)(v * 4) + 2), 0x100);
            machine.Memory.WriteByte(new PhysicalAddress((ulong)(0x1000 + v)), 0xF4);
        }

        return machine;
    }
}
