using System.Buffers.Binary;
using System.Text;
using Virt.Machine.Smbios;
using Xunit;

namespace Virt.Machine.Tests.Smbios;

/// <summary>The SMBIOS structures against the formatted-area lengths of DSP0134 (2.8 layouts) and the entry point's checksums.</summary>
public sealed class SmbiosBuilderTests
{
    [Fact]
    public void Structures_have_their_spec_lengths_and_qemu_handles()
    {
        SmbiosTables tables = SmbiosBuilder.Build(new SmbiosOptions(), 128UL << 20, 0, cpuCount: 2, 0x0691, 0x0781ABFF);
        List<(byte Type, byte Length, ushort Handle, string[] Strings)> structures = Parse(tables.Tables);

        // type 1: 1Bh, 3: 16h, 4: 2Ah (2.6+), 16: 17h (2.7+), 17: 28h (2.8), 19: 1Fh (2.7+), 32: 0Bh, 127: 4.
        Assert.Equal([(1, 0x1B, 0x100), (3, 0x16, 0x300), (4, 0x2A, 0x400), (4, 0x2A, 0x401), (16, 0x17, 0x1000), (17, 0x28, 0x1100), (19, 0x1F, 0x1300), (32, 0x0B, 0x2000), (127, 4, 0x7F00)],
            structures.Select(s => ((int)s.Type, (int)s.Length, (int)s.Handle)));
        Assert.Equal(["Virt", "Standard PC (i440FX + PIIX, 1996)", "pc"], structures[0].Strings);
        Assert.Equal(["CPU 1", "Virt", "pc"], structures[3].Strings);
        Assert.Equal(9, tables.StructureCount);
    }

    [Fact]
    public void Anchor_is_a_2_8_entry_point_with_valid_checksums()
    {
        SmbiosTables tables = SmbiosBuilder.Build(new SmbiosOptions(), 128UL << 20, 0, 1, 0, 0);
        byte[] a = tables.Anchor;
        Assert.Equal(31, a.Length);
        Assert.Equal("_SM_", Encoding.ASCII.GetString(a, 0, 4));
        Assert.Equal("_DMI_", Encoding.ASCII.GetString(a, 16, 5));
        Assert.Equal(0, Sum(a));
        Assert.Equal(0, Sum(a.AsSpan(16)));
        Assert.Equal((2, 8), (a[6], a[7]));
        Assert.Equal(tables.Tables.Length, BinaryPrimitives.ReadUInt16LittleEndian(a.AsSpan(22)));
        Assert.Equal(tables.StructureCount, BinaryPrimitives.ReadUInt16LittleEndian(a.AsSpan(28)));
    }

    [Fact]
    public void Memory_is_split_into_16_GiB_devices_and_mapped_below_and_above_4_GiB()
    {
        ulong below = 0xE000_0000;
        ulong above = (40UL << 30) - below;
        List<(byte Type, byte Length, ushort Handle, string[] Strings)> structures = Parse(SmbiosBuilder.Build(new SmbiosOptions(), below, above, 1, 0, 0).Tables);
        Assert.Equal(3, structures.Count(s => s.Type == 17)); // 16 + 16 + 8 GiB
        Assert.Equal(2, structures.Count(s => s.Type == 19));
    }

    [Fact]
    public void Type_0_is_written_only_when_a_bios_vendor_is_given()
    {
        Assert.DoesNotContain(Parse(SmbiosBuilder.Build(new SmbiosOptions(), 1UL << 30, 0, 1, 0, 0).Tables), s => s.Type == 0);
        var withBios = Parse(SmbiosBuilder.Build(new SmbiosOptions { BiosVendor = "Virt" }, 1UL << 30, 0, 1, 0, 0).Tables);
        Assert.Equal((0, 0x18), ((int)withBios[0].Type, (int)withBios[0].Length));
        Assert.Equal(["Virt", "1.0", "01/01/2025"], withBios[0].Strings);
    }

    private static List<(byte Type, byte Length, ushort Handle, string[] Strings)> Parse(byte[] table)
    {
        var list = new List<(byte, byte, ushort, string[])>();
        int offset = 0;
        while (offset < table.Length)
        {
            byte type = table[offset];
            byte length = table[offset + 1];
            ushort handle = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(offset + 2));
            int end = offset + length;
            while (table[end] != 0 || table[end + 1] != 0)
            {
                end++;
            }

            string[] strings = Encoding.ASCII.GetString(table, offset + length, end - (offset + length)).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            list.Add((type, length, handle, strings));
            offset = end + 2;
        }

        return list;
    }

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum;
    }
}
