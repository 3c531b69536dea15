using System.Buffers.Binary;
using System.Text;
using FsCheck.Xunit;
using Virt.Devices.FwCfg;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.FwCfg;

public sealed class FwCfgDeviceTests
{
    private const ushort SelectorPort = 0x510;
    private const ushort DataPort = 0x511;
    private const ushort DmaHighPort = 0x514;
    private const ushort DmaLowPort = 0x518;
    private const ulong AccessAddress = 0x1000;
    private const ulong BufferAddress = 0x2000;

    private readonly PhysicalMemoryMap _memory = new PhysicalMemoryMapBuilder().AddRam("ram", new PhysicalAddress(0), 0x10000).Build();

    [Fact]
    public void Signature_reads_QEMU_through_the_data_port()
    {
        (FwCfgDevice _, IoPortSpace ports) = Create(new FwCfgContent());
        ports.Write(SelectorPort, 2, FwCfgKeys.Signature);
        Assert.Equal("QEMU", ReadString(ports, 4));
    }

    [Theory]
    [InlineData(true, 3u)]   // traditional (bit 0) and DMA (bit 1)
    [InlineData(false, 1u)]  // traditional only
    public void Id_advertises_the_DMA_interface_when_enabled(bool dma, uint expected)
    {
        (FwCfgDevice _, IoPortSpace ports) = Create(new FwCfgContent(), new FwCfgOptions { DmaEnabled = dma });
        ports.Write(SelectorPort, 2, FwCfgKeys.Id);
        Assert.Equal(expected, ReadUInt32(ports));
    }

    [Fact]
    public void Items_read_little_endian_and_past_the_end_read_zero()
    {
        (FwCfgDevice device, IoPortSpace ports) = Create(new FwCfgContent().SetUInt64(FwCfgKeys.RamSize, 0x1234_5678_9ABC_DEF0).SetUInt16(FwCfgKeys.NumberOfCpus, 1));
        ports.Write(SelectorPort, 2, FwCfgKeys.RamSize);
        byte[] bytes = ReadBytes(ports, 10);
        Assert.Equal(0x1234_5678_9ABC_DEF0UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(0, bytes[8]); // past the 8-byte item
        Assert.Equal(0, bytes[9]);
        Assert.Equal(8u, device.Offset); // the offset stops at the end

        ports.Write(SelectorPort, 2, FwCfgKeys.NumberOfCpus);
        Assert.Equal(1u, ReadUInt32(ports) & 0xFFFF);
    }

    [Fact]
    public void Selecting_again_rewinds_and_unknown_keys_read_zero()
    {
        (FwCfgDevice _, IoPortSpace ports) = Create(new FwCfgContent());
        ports.Write(SelectorPort, 2, FwCfgKeys.Signature);
        Assert.Equal((byte)'Q', ports.Read(DataPort, 1));
        ports.Write(SelectorPort, 2, FwCfgKeys.Signature);
        Assert.Equal((byte)'Q', ports.Read(DataPort, 1));
        ports.Write(SelectorPort, 2, 0x3FFF);
        Assert.Equal(new byte[4], ReadBytes(ports, 4));
    }

    [Fact]
    public void The_write_channel_bit_selects_the_same_item_and_data_port_writes_are_ignored()
    {
        (FwCfgDevice device, IoPortSpace ports) = Create(new FwCfgContent());
        ports.Write(SelectorPort, 2, FwCfgKeys.WriteChannel | FwCfgKeys.Signature);
        ports.Write(DataPort, 1, 0x41);
        ports.Write(SelectorPort, 2, FwCfgKeys.Signature);
        Assert.Equal("QEMU", ReadString(ports, 4));
        Assert.Equal("QEMU"u8.ToArray(), device.GetItem(FwCfgKeys.Signature));
    }

    [Fact]
    public void Directory_lists_files_in_name_order_with_big_endian_fields()
    {
        var content = new FwCfgContent().AddFile("etc/z", new byte[300]).AddFile("bootorder", "abc"u8).AddFile("etc/a", new byte[1]);
        (FwCfgDevice _, IoPortSpace ports) = Create(content);
        ports.Write(SelectorPort, 2, FwCfgKeys.FileDirectory);
        byte[] dir = ReadBytes(ports, 4 + (3 * 64));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(dir));
        string[] names = new string[3];
        for (int i = 0; i < 3; i++)
        {
            ReadOnlySpan<byte> entry = dir.AsSpan(4 + (i * 64), 64);
            names[i] = Encoding.ASCII.GetString(entry[8..]).TrimEnd('\0');
            Assert.Equal((ushort)(FwCfgKeys.FirstFile + i), BinaryPrimitives.ReadUInt16BigEndian(entry[4..]));
            Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(entry[6..]));
        }

        Assert.Equal(["bootorder", "etc/a", "etc/z"], names);
        Assert.Equal(300u, BinaryPrimitives.ReadUInt32BigEndian(dir.AsSpan(4 + 128)));
        ports.Write(SelectorPort, 2, FwCfgKeys.FirstFile);
        Assert.Equal("abc", ReadString(ports, 3));
    }

    [Fact]
    public void Dma_register_reads_the_QEMU_CFG_signature()
    {
        (FwCfgDevice _, IoPortSpace ports) = Create(new FwCfgContent());
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, ports.Read(DmaHighPort, 4));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), ports.Read(DmaLowPort, 4));
        Assert.Equal("QEMU CFG", Encoding.ASCII.GetString(bytes));
    }

    [Fact]
    public void Dma_select_and_read_copies_the_item_and_clears_control()
    {
        (FwCfgDevice _, IoPortSpace ports) = Create(new FwCfgContent());
        uint control = ((uint)FwCfgKeys.Signature << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Read);
        StartDma(ports, control, 4, BufferAddress);
        Assert.Equal("QEMU", Encoding.ASCII.GetString(ReadMemory(BufferAddress, 4)));
        Assert.Equal(0u, ReadControl());
    }

    [Fact]
    public void Dma_read_past_the_end_fills_zeros_and_succeeds()
    {
        (FwCfgDevice _, IoPortSpace ports) = Create(new FwCfgContent());
        _memory.Write(new PhysicalAddress(BufferAddress), Enumerable.Repeat((byte)0xAA, 8).ToArray());
        StartDma(ports, ((uint)FwCfgKeys.Signature << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Read), 8, BufferAddress);
        Assert.Equal("QEMU\0\0\0\0"u8.ToArray(), ReadMemory(BufferAddress, 8));
        Assert.Equal(0u, ReadControl());
    }

    [Fact]
    public void Dma_skip_advances_the_offset_without_copying()
    {
        (FwCfgDevice device, IoPortSpace ports) = Create(new FwCfgContent());
        _memory.Write(new PhysicalAddress(BufferAddress), [0xAA, 0xAA]);
        StartDma(ports, ((uint)FwCfgKeys.Signature << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Skip), 2, BufferAddress);
        Assert.Equal(new byte[] { 0xAA, 0xAA }, ReadMemory(BufferAddress, 2));
        Assert.Equal(2u, device.Offset);
        Assert.Equal("MU", ReadString(ports, 2)); // the data port continues at the same offset
    }

    [Fact]
    public void Dma_write_to_a_writable_file_changes_it_and_to_a_read_only_item_sets_error()
    {
        var content = new FwCfgContent().AddFile("etc/w", new byte[4], writable: true).AddFile("etc/r", new byte[4]);
        (FwCfgDevice device, IoPortSpace ports) = Create(content);
        ushort writable = device.Files.Single(f => f.Name == "etc/w").Key;
        ushort readOnly = device.Files.Single(f => f.Name == "etc/r").Key;
        _memory.Write(new PhysicalAddress(BufferAddress), [1, 2, 3, 4]);

        StartDma(ports, ((uint)writable << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Write), 4, BufferAddress);
        Assert.Equal(0u, ReadControl());
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, device.GetItem(writable));

        StartDma(ports, ((uint)readOnly << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Write), 4, BufferAddress);
        Assert.Equal((uint)FwCfgDmaControl.Error, ReadControl());
        Assert.Equal(new byte[4], device.GetItem(readOnly));

        // A write longer than what is left of the item fails too (fw_cfg.rst) and changes nothing.
        StartDma(ports, ((uint)writable << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Write), 5, BufferAddress);
        Assert.Equal((uint)FwCfgDmaControl.Error, ReadControl());
    }

    [Fact]
    public void Dma_read_into_an_unmapped_address_of_a_strict_map_sets_error_without_throwing()
    {
        PhysicalMemoryMap strict = new PhysicalMemoryMapBuilder(new MemoryMapOptions { Strict = true }).AddRam("ram", new PhysicalAddress(0), 0x10000).Build();
        var device = new FwCfgDevice(new FwCfgContent(), strict);
        WriteAccess(strict, ((uint)FwCfgKeys.Signature << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Read), 4, 0x8000_0000);
        device.RunDma(AccessAddress);
        byte[] control = new byte[4];
        strict.Read(new PhysicalAddress(AccessAddress), control);
        Assert.Equal((uint)FwCfgDmaControl.Error, BinaryPrimitives.ReadUInt32BigEndian(control));
    }

    [Fact]
    public void Dma_read_of_4_GiB_past_the_end_zero_fills_RAM_and_counts_every_hole_byte()
    {
        // The fuzzer's seed 10 found this: a zero fill of nearly 4 GiB over a map that is mostly holes. Every hole byte
        // is still counted as an ignored write (the work done), but a hole is skipped a page at a time.
        (FwCfgDevice device, IoPortSpace ports) = Create(new FwCfgContent().AddFile("a", new byte[8]));
        const ulong Target = 0x8000;
        const uint Length = uint.MaxValue;
        _memory.Write(new PhysicalAddress(Target), Enumerable.Repeat((byte)0xAA, 0x100).ToArray());
        long before = _memory.Statistics.UnmappedWrites;
        StartDma(ports, ((uint)FwCfgKeys.FirstFile << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Read), Length, Target);
        Assert.Equal(0u, ReadControl());
        Assert.Equal(8u, device.Offset);
        Assert.Equal(new byte[0x100], ReadMemory(Target, 0x100));
        const ulong RamSize = 0x10000;
        Assert.Equal((long)(Length - (RamSize - Target)), _memory.Statistics.UnmappedWrites - before);
    }

    [Fact]
    public void Dma_with_no_operation_bit_only_selects()
    {
        (FwCfgDevice device, IoPortSpace ports) = Create(new FwCfgContent());
        StartDma(ports, ((uint)FwCfgKeys.Id << 16) | (uint)FwCfgDmaControl.Select, 100, BufferAddress);
        Assert.Equal(FwCfgKeys.Id, device.Selector);
        Assert.Equal(0u, device.Offset);
        Assert.Equal(0u, ReadControl());
    }

    [Fact]
    public void Reserved_keys_and_bad_file_names_are_refused()
    {
        var content = new FwCfgContent();
        Assert.Throws<ArgumentOutOfRangeException>(() => content.SetUInt32(FwCfgKeys.Signature, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => content.SetUInt32(FwCfgKeys.FileDirectory, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => content.SetUInt32(FwCfgKeys.FirstFile, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => content.SetUInt32(FwCfgKeys.WriteChannel | FwCfgKeys.RamSize, 0));
        Assert.Throws<ArgumentException>(() => content.AddFile(new string('a', 56), []));
        Assert.Throws<ArgumentException>(() => content.AddFile("é", []));
        content.AddFile("x", []);
        Assert.Throws<ArgumentException>(() => content.AddFile("x", []));
        content.SetUInt32(FwCfgKeys.Irq0Override, 1); // architecture-local keys are free
    }

    [Property(MaxTest = 200)]
    public bool State_round_trips(ushort selector, uint offset, uint dmaHigh)
    {
        var device = new FwCfgDevice(new FwCfgContent().AddFile("a", new byte[10]), _memory);
        var state = new FwCfgState(FwCfgState.CurrentVersion, selector, offset, dmaHigh);
        device.RestoreState(state);
        return device.SaveState() == state && device.Selector == selector && device.Offset == offset;
    }

    [Property(MaxTest = 200)]
    public bool Restored_state_continues_reading_where_the_saved_one_was(byte reads)
    {
        var content = new FwCfgContent().AddFile("blob", Enumerable.Range(0, 256).Select(i => (byte)(i * 7)).ToArray());
        var first = new FwCfgDevice(content, _memory);
        first.Select(FwCfgKeys.FirstFile);
        for (int i = 0; i < reads; i++)
        {
            first.ReadData();
        }

        var second = new FwCfgDevice(content, _memory);
        second.RestoreState(first.SaveState());
        return first.ReadData() == second.ReadData() && first.ReadData() == second.ReadData();
    }

    [Fact]
    public void Restore_refuses_an_unknown_version()
    {
        var device = new FwCfgDevice(new FwCfgContent(), _memory);
        Assert.Throws<ArgumentException>(() => device.RestoreState(new FwCfgState(99, 0, 0, 0)));
    }

    [Fact]
    public void Reset_selects_the_signature_again()
    {
        (FwCfgDevice device, IoPortSpace ports) = Create(new FwCfgContent());
        ports.Write(SelectorPort, 2, FwCfgKeys.Id);
        ports.Read(DataPort, 1);
        device.Reset();
        Assert.Equal(0, device.Selector);
        Assert.Equal("QEMU", ReadString(ports, 4));
    }

    private (FwCfgDevice Device, IoPortSpace Ports) Create(FwCfgContent content, FwCfgOptions? options = null)
    {
        var device = new FwCfgDevice(content, _memory, options);
        var ports = new IoPortSpace();
        foreach (PortBinding binding in device.PortBindings)
        {
            ports.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
        }

        return (device, ports);
    }

    private void StartDma(IoPortSpace ports, uint control, uint length, ulong address)
    {
        WriteAccess(_memory, control, length, address);
        ports.Write(DmaHighPort, 4, BinaryPrimitives.ReverseEndianness((uint)(AccessAddress >> 32)));
        ports.Write(DmaLowPort, 4, BinaryPrimitives.ReverseEndianness((uint)AccessAddress));
    }

    private static void WriteAccess(PhysicalMemoryMap memory, uint control, uint length, ulong address)
    {
        byte[] access = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(access, control);
        BinaryPrimitives.WriteUInt32BigEndian(access.AsSpan(4), length);
        BinaryPrimitives.WriteUInt64BigEndian(access.AsSpan(8), address);
        memory.Write(new PhysicalAddress(AccessAddress), access);
    }

    private uint ReadControl() => BinaryPrimitives.ReadUInt32BigEndian(ReadMemory(AccessAddress, 4));

    private byte[] ReadMemory(ulong address, int count)
    {
        byte[] bytes = new byte[count];
        _memory.Read(new PhysicalAddress(address), bytes);
        return bytes;
    }

    private static byte[] ReadBytes(IoPortSpace ports, int count)
    {
        byte[] bytes = new byte[count];
        for (int i = 0; i < count; i++)
        {
            bytes[i] = (byte)ports.Read(DataPort, 1);
        }

        return bytes;
    }

    private static string ReadString(IoPortSpace ports, int count) => Encoding.ASCII.GetString(ReadBytes(ports, count));

    private static uint ReadUInt32(IoPortSpace ports) => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(ports, 4));
}
