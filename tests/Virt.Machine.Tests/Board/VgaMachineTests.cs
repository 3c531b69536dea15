using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Board;

/// <summary>Guests that program the VGA themselves, without a BIOS: mode 13h through the ports, a VBE mode through the std VGA's BAR0.</summary>
public sealed class VgaMachineTests
{
    private const uint CodeAddress = 0x10000;
    private const uint LfbAddress = 0xE000_0000;
    private const int VgaSlot = 2;

    // Mode 13h (IBM VGA Technical Reference, mode table): sequencer, CRTC, graphics controller, attribute controller.
    private static readonly byte[] s_sequencer = [0x03, 0x01, 0x0F, 0x00, 0x0E];
    private static readonly byte[] s_crtc = [0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x0E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF];
    private static readonly byte[] s_graphics = [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF];
    private static readonly byte[] s_attribute = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x41, 0x00, 0x0F, 0x00, 0x00];

    private static void OutByte(Assembler a, ushort port, byte value)
    {
        a.mov(dx, port);
        a.mov(al, value);
        a.@out(dx, al);
    }

    private static void OutWord(Assembler a, ushort port, ushort value)
    {
        a.mov(dx, port);
        a.mov(ax, value);
        a.@out(dx, ax);
    }

    [Fact]
    public void RealModeGuestSetsMode13hThroughThePortsAndDraws()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            OutByte(a, 0x3C2, 0x63);
            for (int i = 0; i < s_sequencer.Length; i++)
            {
                OutWord(a, 0x3C4, (ushort)(i | (s_sequencer[i] << 8)));
            }

            OutWord(a, 0x3D4, 0x0E11); // clear the CRTC write protect first
            for (int i = 0; i < s_crtc.Length; i++)
            {
                OutWord(a, 0x3D4, (ushort)(i | (s_crtc[i] << 8)));
            }

            for (int i = 0; i < s_graphics.Length; i++)
            {
                OutWord(a, 0x3CE, (ushort)(i | (s_graphics[i] << 8)));
            }

            a.mov(dx, 0x3DA);
            a.@in(al, dx); // attribute flip-flop to "index"
            for (int i = 0; i < s_attribute.Length; i++)
            {
                OutByte(a, 0x3C0, (byte)i);
                OutByte(a, 0x3C0, s_attribute[i]);
            }

            OutByte(a, 0x3C0, 0x20); // palette address source: video on

            // DAC entry 4 = (63, 32, 0): orange; entry 9 = (0, 0, 63): blue.
            OutByte(a, 0x3C8, 4);
            OutByte(a, 0x3C9, 63);
            OutByte(a, 0x3C9, 32);
            OutByte(a, 0x3C9, 0);
            OutByte(a, 0x3C8, 9);
            OutByte(a, 0x3C9, 0);
            OutByte(a, 0x3C9, 0);
            OutByte(a, 0x3C9, 63);

            // A 10x10 square of colour 4 at (100, 50), then a diagonal of colour 9 from (0, 0) to (199, 199).
            a.mov(ax, 0xA000);
            a.mov(es, ax);
            a.mov(ds, ax);
            a.cld();
            a.mov(bx, 10);
            a.mov(di, (50 * 320) + 100);
            Label row = a.CreateLabel();
            a.Label(ref row);
            a.mov(cx, 10);
            a.mov(al, 4);
            a.rep.stosb();
            a.add(di, 320 - 10);
            a.dec(bx);
            a.jnz(row);

            a.xor(di, di);
            a.mov(cx, 200);
            Label diagonal = a.CreateLabel();
            a.Label(ref diagonal);
            a.mov(__byte_ptr[di], 9);
            a.add(di, 321);
            a.loop(diagonal);
            a.cli();
            a.hlt();
        });

        using Machine machine = new MachineBuilder()
            .WithMemorySize(1UL << 20)
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "mode 13h guest"))
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 200_000);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);

        VgaFrame frame = machine.CaptureScreen()!;
        Assert.Equal((320, 200), (frame.Width, frame.Height));
        Assert.Null(machine.CaptureTextScreen()); // a graphics mode has no text rows
        Assert.Equal(0xFF8200, frame.GetPixelRgb(100, 50)); // 6-bit 63, 32, 0 -> FFh, 82h, 00h
        Assert.Equal(0xFF8200, frame.GetPixelRgb(109, 59));
        Assert.Equal(0x000000, frame.GetPixelRgb(110, 59));
        Assert.Equal(0x000000, frame.GetPixelRgb(100, 60));
        Assert.Equal(0x0000FF, frame.GetPixelRgb(0, 0));
        Assert.Equal(0x0000FF, frame.GetPixelRgb(150, 150));
        Assert.Equal(0x0000FF, frame.GetPixelRgb(199, 199));
        Assert.Equal(0x000000, frame.GetPixelRgb(151, 150));

        using var png = new MemoryStream();
        Assert.True(machine.SaveScreenshot(png));
        Assert.Equal(0x89, png.ToArray()[0]);
    }

    [Fact]
    public void ProtectedModeGuestProgramsVbe800x600x32AndDrawsThroughBar0()
    {
        byte[] code = GuestPrograms.Assemble32(CodeAddress, a =>
        {
            // 00:02.0 is the std VGA: place BAR0 at E0000000h and turn memory decoding on.
            a.mov(dx, 0xCF8);
            a.mov(eax, 0x8000_0000u | (VgaSlot << 11) | 0x10);
            a.@out(dx, eax);
            a.mov(dx, 0xCFC);
            a.mov(eax, LfbAddress);
            a.@out(dx, eax);
            a.mov(dx, 0xCF8);
            a.mov(eax, 0x8000_0000u | (VgaSlot << 11) | 0x04);
            a.@out(dx, eax);
            a.mov(dx, 0xCFC);
            a.mov(eax, 0x0000_0003u);
            a.@out(dx, eax);

            // DISPI: 800x600x32 with the linear framebuffer.
            foreach ((int index, ushort value) in new[]
            {
                (VgaAdapter.VbeIndexEnable, (ushort)0), (VgaAdapter.VbeIndexXResolution, (ushort)800),
                (VgaAdapter.VbeIndexYResolution, (ushort)600), (VgaAdapter.VbeIndexBpp, (ushort)32),
                (VgaAdapter.VbeIndexEnable, (ushort)(VgaAdapter.VbeEnabled | VgaAdapter.VbeLinearFramebuffer)),
            })
            {
                a.mov(dx, VgaAdapter.VbeIndexPort);
                a.mov(ax, (ushort)index);
                a.@out(dx, ax);
                a.mov(dx, VgaAdapter.VbeDataPort);
                a.mov(ax, value);
                a.@out(dx, ax);
            }

            // Ten rows of 100 orange pixels from (100, 300), and one blue pixel in the last corner.
            a.cld();
            a.mov(ebx, 10);
            a.mov(edi, LfbAddress + (((300 * 800) + 100) * 4));
            Label row = a.CreateLabel();
            a.Label(ref row);
            a.mov(ecx, 100);
            a.mov(eax, 0x00FF_8000u);
            a.rep.stosd();
            a.add(edi, (800 - 100) * 4);
            a.dec(ebx);
            a.jnz(row);
            a.mov(__dword_ptr[LfbAddress + (((599 * 800) + 799) * 4)], 0x0000_00FF);
            a.cli();
            a.hlt();
        });

        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithPciBus()
            .WithVga(VgaKind.Standard)
            .WithFlatBinary(code, new PhysicalAddress(CodeAddress), BootEntryState.FlatProtectedMode(CodeAddress, "vbe guest"))
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 200_000);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);

        VgaFrame frame = machine.CaptureScreen()!;
        Assert.Equal((800, 600), (frame.Width, frame.Height));
        Assert.Equal(0xFF8000, frame.GetPixelRgb(100, 300));
        Assert.Equal(0xFF8000, frame.GetPixelRgb(199, 309));
        Assert.Equal(0x000000, frame.GetPixelRgb(200, 309));
        Assert.Equal(0x000000, frame.GetPixelRgb(100, 310));
        Assert.Equal(0x0000FF, frame.GetPixelRgb(799, 599));
        StandardVgaPciDevice card = machine.FindDevice<StandardVgaPciDevice>()!;
        Assert.Equal(new PciFunctionAddress(0, VgaSlot, 0), card.Address);
    }

    [Fact]
    public void WithVga_NoneLeavesTheWindowOpenBus_StandardNeedsThePciBus_AndTheRomIsChecked()
    {
        using (Machine none = new MachineBuilder().WithMemorySize(1UL << 20).WithVga(VgaKind.None).Build())
        {
            Assert.Null(none.CaptureScreen());
            Assert.Null(none.FindDevice<VgaAdapter>());
            Assert.False(none.SaveScreenshot(new MemoryStream()));
        }

        MachineConfigurationException noBus = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithVga(VgaKind.Standard).Build());
        Assert.Contains("WithPciBus", noBus.Message, StringComparison.Ordinal);

        string missing = Path.Combine(Path.GetTempPath(), $"virt-missing-{Guid.NewGuid():N}.bin");
        MachineConfigurationException noRom = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithPciBus().WithVga(VgaKind.Standard, missing).Build());
        Assert.Contains(missing, noRom.Message, StringComparison.Ordinal);

        string notRom = Path.Combine(Path.GetTempPath(), $"virt-notrom-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(notRom, [0x00, 0x11, 0x22, 0x33]);
        try
        {
            MachineConfigurationException bad = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithPciBus().WithVga(VgaKind.Standard, notRom).Build());
            Assert.Contains("55h AAh", bad.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(notRom);
        }
    }

    [Fact]
    public void StandardVgaWithRom_ExposesItThroughTheExpansionRomBar()
    {
        string rom = Path.Combine(Path.GetTempPath(), $"virt-rom-{Guid.NewGuid():N}.bin");
        byte[] image = new byte[3000];
        image[0] = 0x55;
        image[1] = 0xAA;
        image[2] = 6; // 3 KiB
        image[2999] = 0x7E;
        File.WriteAllBytes(rom, image);
        try
        {
            using Machine machine = new MachineBuilder().WithMemorySize(16UL << 20).WithPciBus().WithVga(VgaKind.Standard, rom).Build();
            StandardVgaPciDevice card = machine.FindDevice<StandardVgaPciDevice>()!;
            card.WriteConfiguration(0x30, 4, 0xFFFF_FFFF);
            Assert.Equal(0xFFFF_F001u, card.ReadConfiguration(0x30, 4)); // 4 KiB window, enable bit writable
            card.WriteConfiguration(0x30, 4, 0xFEB0_0001);
            card.WriteConfiguration(0x04, 2, 0x0002);
            Assert.Equal(0xAA55, machine.Memory.ReadWord(new PhysicalAddress(0xFEB0_0000)));
            Assert.Equal(0x7E, machine.Memory.ReadByte(new PhysicalAddress(0xFEB0_0000 + 2999)));
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
