using Virt.Devices.Tests.Fakes;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests;

/// <summary>The I/O devices registered on the real buses of Virt.Memory, as a board wires them (docs/devices-io.md).</summary>
public sealed class IoDevicesWiringTests
{
    [Fact]
    public void AllDevices_RegisterWithoutOverlap_AndWorkThroughTheBuses()
    {
        var clock = new ManualClock();
        var platform = new RecordingPlatformControl();
        var ports = new IoPortSpace(strict: true);
        var serialOut = new BufferCharacterSink();
        var debugOut = new BufferCharacterSink();
        var com1 = new Virt.Devices.Uart16550(UartOptions.Com1, new RecordingInterruptLine(), clock, new CharacterSinkSerialBackend(serialOut));
        var com2 = new Virt.Devices.Uart16550(UartOptions.Com2, new RecordingInterruptLine(), clock, new NullSerialBackend());
        var com3 = new Virt.Devices.Uart16550(UartOptions.Com3, new RecordingInterruptLine(), clock, new NullSerialBackend());
        var com4 = new Virt.Devices.Uart16550(UartOptions.Com4, new RecordingInterruptLine(), clock, new NullSerialBackend());
        var kbc = new KeyboardController8042(new RecordingInterruptLine(), new RecordingInterruptLine(), clock, platform);
        var port92 = new SystemControlPortA(platform);
        var vga = new VgaAdapter();
        var debugcon = new DebugConsole(debugOut);
        var exit = new IsaDebugExit(platform);
        var post = new PostCodePort();
        var dma = new Virt.Devices.Dma8237(new ArrayGuestMemory(1 << 20));
        var fdc = new Virt.Devices.Floppy82077(clock, new RecordingInterruptLine(), dma.GetChannel(2), [new MemoryBlockDevice(1_474_560)]);
        IPortMappedDevice[] devices = [com1, com2, com3, com4, kbc, port92, vga, debugcon, exit, post, dma, fdc];
        foreach (IPortMappedDevice device in devices)
        {
            foreach (PortBinding binding in device.PortBindings)
            {
                ports.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
            }
        }

        PhysicalMemoryMap memory = new PhysicalMemoryMapBuilder()
            .AddMmio("VGA text", new PhysicalAddress(VgaAdapter.TextMemoryBase), VgaAdapter.TextMemorySizeInBytes, vga.MemoryWindow)
            .Build();

        // Serial: a byte written to COM1's THR reaches the host.
        ports.WriteByte(0x3F8, (byte)'S');
        Assert.Equal("S", serialOut.GetText());
        Assert.Equal(0x60, ports.ReadByte(0x3FD) & 0x60);
        Assert.Equal(0x60, ports.ReadByte(0x2E8 + 5) & 0x60);

        // Keyboard controller: self test through port 64h, data on 60h.
        ports.WriteByte(0x64, 0xAA);
        Assert.Equal(0x55, ports.ReadByte(0x60));

        // VGA: a word at B8000h is a character and its attribute; CRTC via a word OUT (index, data).
        memory.WriteWord(new PhysicalAddress(0xB8000), 0x1F00 | 'V');
        Assert.Equal("V", vga.GetScreenText()[0]);
        ports.WriteWord(0x3D4, 0x050F); // cursor location low = 5
        Assert.Equal((0, 5), vga.CursorPosition);
        Assert.Equal(0x1F00 | 'V', memory.ReadWord(new PhysicalAddress(0xB8000)));

        // Debug devices.
        ports.WriteByte(0xE9, (byte)'!');
        Assert.Equal("!", debugOut.GetText());
        Assert.Equal(0xE9, ports.ReadByte(0xE9));
        ports.WriteByte(0x80, 0x42);
        Assert.Equal((byte)0x42, post.LastCode);
        ports.WriteWord(0x501, 0x0010);
        Assert.Equal(0x21, Assert.Single(platform.ExitRequests).ExitCode);

        // DMA page registers sit on either side of the POST port without taking it; the floppy controller leaves 3F6h free.
        ports.WriteByte(0x81, 0x12);
        ports.WriteByte(0x80, 0x34);
        Assert.Equal(0x12, ports.ReadByte(0x81));
        Assert.Equal((byte)0x34, post.LastCode);
        Assert.Equal(0x0F, ports.ReadByte(0x0F) & 0x0F);
        Assert.Equal(0x0F, ports.ReadByte(0xDE) & 0x0F);
        Assert.False(ports.IsRegistered(0x3F6));
        ports.WriteByte(0x3F2, 0x0C);
        Assert.Equal(0x80, ports.ReadByte(0x3F4) & 0x80);

        // Port 92h: fast A20 off.
        ports.WriteByte(0x92, 0x00);
        Assert.False(platform.A20Enabled);
    }
}
