using System.Buffers.Binary;
using System.Text;

namespace Virt.Machine.Tests.Boot;

/// <summary>Synthetic boot images built byte by byte from the specifications, for the loader tests.</summary>
public static class TestImages
{
    public const int BzSetupSectors = 4;
    public const int BzProtectedModeOffset = (BzSetupSectors + 1) * 512;

    /// <summary>
    /// A minimal bzImage: boot sector and setup header as boot.rst lays them out (protocol
    /// <paramref name="version"/>, LOADED_HIGH, relocatable, pref_address 16 MiB, init_size 8 MiB), four
    /// setup sectors, then <paramref name="payloadSize"/> bytes of "protected-mode kernel" (a counting pattern).
    /// </summary>
    public static byte[] BzImage(int payloadSize = 0x3000, ushort version = 0x020F, uint initSize = 0x80_0000, uint initrdAddrMax = 0x7FFF_FFFF, uint cmdlineSize = 2047, byte loadFlags = 0x01, ulong prefAddress = 0x100_0000)
    {
        byte[] image = new byte[BzProtectedModeOffset + payloadSize];
        Span<byte> s = image;
        s[0x1F1] = BzSetupSectors;
        BinaryPrimitives.WriteUInt32LittleEndian(s[0x1F4..], (uint)((payloadSize + 15) / 16));
        BinaryPrimitives.WriteUInt16LittleEndian(s[0x1FA..], 0xFFFF); // vid_mode NORMAL_VGA
        BinaryPrimitives.WriteUInt16LittleEndian(s[0x1FE..], 0xAA55);
        s[0x200] = 0xEB;
        s[0x201] = 0x66; // header ends at 0x268
        Encoding.ASCII.GetBytes("HdrS", s[0x202..]);
        BinaryPrimitives.WriteUInt16LittleEndian(s[0x206..], version);
        BinaryPrimitives.WriteUInt16LittleEndian(s[0x20E..], 0x0300); // kernel_version -> 0x500
        Encoding.ASCII.GetBytes("6.1.0-test (virt@test) #1 SMP\0", s[0x500..]);
        s[0x211] = loadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(s[0x214..], 0x10_0000);
        BinaryPrimitives.WriteUInt32LittleEndian(s[0x22C..], initrdAddrMax);
        BinaryPrimitives.WriteUInt32LittleEndian(s[0x230..], 0x20_0000);
        s[0x234] = 1;
        s[0x235] = 21;
        BinaryPrimitives.WriteUInt16LittleEndian(s[0x236..], 0x0000);
        BinaryPrimitives.WriteUInt32LittleEndian(s[0x238..], cmdlineSize);
        BinaryPrimitives.WriteUInt64LittleEndian(s[0x258..], prefAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(s[0x260..], initSize);
        for (int i = 0; i < payloadSize; i++)
        {
            image[BzProtectedModeOffset + i] = (byte)(i * 7 + 1);
        }

        return image;
    }

    /// <summary>A Multiboot header with a correct checksum (and the address fields when given).</summary>
    public static byte[] MultibootHeader(uint flags, uint headerAddr = 0, uint loadAddr = 0, uint loadEndAddr = 0, uint bssEndAddr = 0, uint entryAddr = 0, uint? checksum = null)
    {
        byte[] h = new byte[(flags & 0x1_0000) != 0 ? 32 : 12];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x1BAD_B002);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), checksum ?? unchecked(0u - 0x1BAD_B002u - flags));
        if (h.Length == 32)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), headerAddr);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), loadAddr);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(20), loadEndAddr);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), bssEndAddr);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(28), entryAddr);
        }

        return h;
    }

    /// <summary>One PT_LOAD segment of a synthetic ELF32 kernel.</summary>
    public sealed record Segment(uint PhysicalAddress, byte[] Data, uint MemorySize, uint? VirtualAddress = null, uint Type = 1);

    /// <summary>
    /// An ELF32 i386 executable: ELF header, program headers at 52, a Multiboot header at 0x200 (flags
    /// 0x00000003 unless given), then each segment's data at the next 0x1000-aligned file offset.
    /// </summary>
    public static byte[] Elf32(uint entry, IReadOnlyList<Segment> segments, uint multibootFlags = 0x3, byte elfClass = 1, byte[]? multibootHeader = null)
    {
        var offsets = new List<int>();
        int next = 0x1000;
        foreach (Segment seg in segments)
        {
            offsets.Add(next);
            next += (seg.Data.Length + 0xFFF) & ~0xFFF;
            if (seg.Data.Length == 0)
            {
                next += 0x1000;
            }
        }

        byte[] f = new byte[next];
        Span<byte> s = f;
        s[0] = 0x7F;
        s[1] = (byte)'E';
        s[2] = (byte)'L';
        s[3] = (byte)'F';
        s[4] = elfClass;
        s[5] = 1; // little-endian
        s[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 3); // EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], entry);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], 52); // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(s[40..], 52); // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[42..], 32); // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[44..], (ushort)segments.Count);
        for (int i = 0; i < segments.Count; i++)
        {
            Segment seg = segments[i];
            Span<byte> ph = s.Slice(52 + (i * 32), 32);
            BinaryPrimitives.WriteUInt32LittleEndian(ph, seg.Type);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], (uint)offsets[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[8..], seg.VirtualAddress ?? seg.PhysicalAddress);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[12..], seg.PhysicalAddress);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[16..], (uint)seg.Data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[20..], seg.MemorySize);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[24..], 7);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[28..], 0x1000);
            seg.Data.CopyTo(f, offsets[i]);
        }

        (multibootHeader ?? MultibootHeader(multibootFlags)).CopyTo(f, 0x200);
        return f;
    }

    /// <summary>A byte pattern that differs per segment so misplaced bytes are caught.</summary>
    public static byte[] Pattern(int length, byte seed)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(seed + (i * 13));
        }

        return data;
    }
}
