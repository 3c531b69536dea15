using System.Text;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Demo;

/// <summary>
/// The built-in demo guest, generated at run time with Iced's assembler so it needs no external file. It starts in
/// real mode at 0000:7C00, switches to 32-bit protected mode through its own GDT, then prints a banner and facts it
/// measured itself to the VGA text screen and to COM1: the CPU vendor (CPUID leaf 0), the memory size (from the CMOS
/// fields the board fills in), and a CRC-32 of its own image. Then it halts with interrupts disabled, which ends the run.
/// </summary>
public static class DemoGuest
{
    /// <summary>Where the image is loaded and entered (real mode, CS:IP = 0000:7C00).</summary>
    public const uint LoadAddress = 0x7C00;

    /// <summary>The image size in bytes; the CRC-32 covers all of it.</summary>
    public const int ImageSizeInBytes = 0x800;

    private const uint GdtAddress = LoadAddress + 0x100;
    private const uint GdtrAddress = LoadAddress + 0x120;
    private const uint StringsAddress = LoadAddress + 0x140;
    private const uint ProtectedEntry = LoadAddress + 0x400;
    private const uint ScratchAddress = 0x9000; // outside the image, so the checksum does not see it
    private const uint VgaText = 0xB8000;
    private const byte Attribute = 0x1F; // bright white on blue

    private static readonly string[] s_strings =
    [
        "Virt demo guest: 32-bit protected mode, running in Virt.",
        "CPU vendor (CPUID): ",
        "Memory (CMOS): ",
        " MiB",
        "CRC-32 of this program: 0x",
        "Done: halting with interrupts disabled.",
    ];

    /// <summary>Assembles the demo image.</summary>
    /// <returns><see cref="ImageSizeInBytes"/> bytes to load at <see cref="LoadAddress"/>.</returns>
    public static byte[] Build()
    {
        byte[] image = new byte[ImageSizeInBytes];
        Assemble(16, LoadAddress, EmitRealModeStub).CopyTo(image, 0);

        // GDT: null, flat 32-bit code (selector 08h), flat 32-bit data (selector 10h). The accessed bits are preset: the
        // CPU sets them in memory on the first load (Intel SDM Vol. 3A, 3.4.5.1), which would change the checksummed image.
        BitConverter.GetBytes(0x00CF_9B00_0000_FFFFUL).CopyTo(image, (int)(GdtAddress - LoadAddress + 8));
        BitConverter.GetBytes(0x00CF_9300_0000_FFFFUL).CopyTo(image, (int)(GdtAddress - LoadAddress + 16));
        BitConverter.GetBytes((ushort)23).CopyTo(image, (int)(GdtrAddress - LoadAddress));
        BitConverter.GetBytes(GdtAddress).CopyTo(image, (int)(GdtrAddress - LoadAddress + 2));

        uint[] stringAddresses = new uint[s_strings.Length];
        int offset = (int)(StringsAddress - LoadAddress);
        for (int i = 0; i < s_strings.Length; i++)
        {
            stringAddresses[i] = LoadAddress + (uint)offset;
            byte[] bytes = Encoding.ASCII.GetBytes(s_strings[i] + "\0");
            bytes.CopyTo(image, offset);
            offset += bytes.Length;
        }

        byte[] code = Assemble(32, ProtectedEntry, a => EmitProtectedMode(a, stringAddresses));
        if (code.Length > ImageSizeInBytes - (ProtectedEntry - LoadAddress))
        {
            throw new InvalidOperationException("The demo guest outgrew its image.");
        }

        code.CopyTo(image, (int)(ProtectedEntry - LoadAddress));
        return image;
    }

    /// <summary>The CRC-32 (IEEE 802.3, reflected) the guest computes over its image, for checking its output.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The CRC.</returns>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFF_FFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1;
            }
        }

        return ~crc;
    }

    private static byte[] Assemble(int bitness, ulong origin, Action<Assembler> emit)
    {
        var a = new Assembler(bitness);
        emit(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), origin);
        return stream.ToArray();
    }

    private static void EmitRealModeStub(Assembler a)
    {
        a.cli();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(ss, ax);
        a.mov(sp, 0x7000);
        a.lgdt(__[(int)GdtrAddress]);
        a.mov(eax, cr0);
        a.or(eax, 1);
        a.mov(cr0, eax);
        // JMP FAR 0008:ProtectedEntry (EA iw iw): loads CS with the 32-bit code descriptor.
        a.db(0xEA, unchecked((byte)ProtectedEntry), unchecked((byte)(ProtectedEntry >> 8)), 0x08, 0x00);
    }

    private static void EmitProtectedMode(Assembler a, uint[] strings)
    {
        Label print = a.CreateLabel();
        Label serialOut = a.CreateLabel();
        Label newLine = a.CreateLabel();
        Label printHex = a.CreateLabel();
        Label printDecimal = a.CreateLabel();
        Label readCmos = a.CreateLabel();

        a.mov(ax, 0x10);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(esp, 0x70000);

        // Clear the screen to white-on-blue spaces.
        a.mov(edi, VgaText);
        a.mov(ecx, 80 * 25);
        a.mov(ax, (Attribute << 8) | 0x20);
        a.rep.stosw();
        a.mov(edi, VgaText);

        // Line 1: banner.
        a.mov(esi, strings[0]);
        a.call(print);
        a.call(newLine);

        // Line 2: CPU vendor from CPUID leaf 0 (EBX, EDX, ECX), stored as a string in scratch memory.
        a.mov(esi, strings[1]);
        a.call(print);
        a.xor(eax, eax);
        a.cpuid();
        a.mov(__dword_ptr[ScratchAddress], ebx);
        a.mov(__dword_ptr[ScratchAddress + 4], edx);
        a.mov(__dword_ptr[ScratchAddress + 8], ecx);
        a.mov(__byte_ptr[ScratchAddress + 12], 0);
        a.mov(esi, ScratchAddress);
        a.call(print);
        a.call(newLine);

        // Line 3: memory in MiB. CMOS 34h/35h: 64 KiB blocks above 16 MiB; 30h/31h: KiB above 1 MiB;
        // 5Bh-5Dh: 64 KiB blocks above 4 GiB.
        Label useExtended = a.CreateLabel();
        Label haveLow = a.CreateLabel();
        a.mov(esi, strings[2]);
        a.call(print);
        a.mov(bl, 0x35);
        a.call(readCmos);
        a.shl(eax, 8);
        a.mov(ebp, eax);
        a.mov(bl, 0x34);
        a.call(readCmos);
        a.or(ebp, eax);
        a.jz(useExtended);
        a.shr(ebp, 4);
        a.add(ebp, 16);
        a.jmp(haveLow);
        a.Label(ref useExtended);
        a.mov(bl, 0x31);
        a.call(readCmos);
        a.shl(eax, 8);
        a.mov(ebp, eax);
        a.mov(bl, 0x30);
        a.call(readCmos);
        a.or(ebp, eax);
        a.shr(ebp, 10);
        a.add(ebp, 1);
        a.Label(ref haveLow);
        a.mov(bl, 0x5D);
        a.call(readCmos);
        a.shl(eax, 16);
        a.mov(edx, eax);
        a.mov(bl, 0x5C);
        a.call(readCmos);
        a.shl(eax, 8);
        a.or(edx, eax);
        a.mov(bl, 0x5B);
        a.call(readCmos);
        a.or(edx, eax);
        a.shr(edx, 4);
        a.add(ebp, edx);
        a.mov(eax, ebp);
        a.call(printDecimal);
        a.mov(esi, strings[3]);
        a.call(print);
        a.call(newLine);

        // Line 4: CRC-32 of the whole image, bit by bit (polynomial EDB88320h, reflected).
        Label crcByte = a.CreateLabel();
        Label crcBit = a.CreateLabel();
        Label noXor = a.CreateLabel();
        a.mov(esi, strings[4]);
        a.call(print);
        a.mov(esi, LoadAddress);
        a.mov(ecx, ImageSizeInBytes);
        a.mov(edx, 0xFFFF_FFFF);
        a.Label(ref crcByte);
        a.movzx(eax, __byte_ptr[esi]);
        a.xor(edx, eax);
        a.mov(ebx, 8);
        a.Label(ref crcBit);
        a.shr(edx, 1);
        a.jnc(noXor);
        a.xor(edx, 0xEDB8_8320);
        a.Label(ref noXor);
        a.dec(ebx);
        a.jnz(crcBit);
        a.inc(esi);
        a.dec(ecx);
        a.jnz(crcByte);
        a.not(edx);
        a.mov(eax, edx);
        a.call(printHex);
        a.call(newLine);

        // Line 5, then halt with interrupts disabled: the run ends.
        a.mov(esi, strings[5]);
        a.call(print);
        a.call(newLine);
        a.cli();
        a.hlt();

        // print: ESI = zero-terminated string, EDI = screen position (advanced); each character also goes to COM1.
        Label printDone = a.CreateLabel();
        a.Label(ref print);
        a.lodsb();
        a.test(al, al);
        a.jz(printDone);
        a.mov(__byte_ptr[edi], al);
        a.mov(__byte_ptr[edi + 1], Attribute);
        a.add(edi, 2);
        a.call(serialOut);
        a.jmp(print);
        a.Label(ref printDone);
        a.ret();

        // serialOut: AL to COM1 once its transmitter holding register is empty (LSR bit 5).
        Label waitEmpty = a.CreateLabel();
        a.Label(ref serialOut);
        a.push(edx);
        a.push(eax);
        a.mov(dx, 0x3FD);
        a.Label(ref waitEmpty);
        a.@in(al, dx);
        a.test(al, 0x20);
        a.jz(waitEmpty);
        a.pop(eax);
        a.mov(dx, 0x3F8);
        a.@out(dx, al);
        a.pop(edx);
        a.ret();

        // newLine: EDI to the start of the next screen line; CR LF to COM1.
        a.Label(ref newLine);
        a.push(eax);
        a.push(edx);
        a.push(ecx);
        a.mov(eax, edi);
        a.sub(eax, VgaText);
        a.xor(edx, edx);
        a.mov(ecx, 160);
        a.div(ecx);
        a.inc(eax);
        a.imul(eax, eax, 160);
        a.add(eax, VgaText);
        a.mov(edi, eax);
        a.mov(al, 13);
        a.call(serialOut);
        a.mov(al, 10);
        a.call(serialOut);
        a.pop(ecx);
        a.pop(edx);
        a.pop(eax);
        a.ret();

        // printHex: EAX as eight hex digits.
        Label hexLoop = a.CreateLabel();
        Label hexDigit = a.CreateLabel();
        a.Label(ref printHex);
        a.mov(edx, eax);
        a.mov(ecx, 8);
        a.mov(esi, ScratchAddress + 16);
        a.Label(ref hexLoop);
        a.rol(edx, 4);
        a.mov(eax, edx);
        a.and(eax, 0xF);
        a.add(al, (byte)'0');
        a.cmp(al, (byte)'9');
        a.jbe(hexDigit);
        a.add(al, 'A' - '9' - 1);
        a.Label(ref hexDigit);
        a.mov(__byte_ptr[esi], al);
        a.inc(esi);
        a.dec(ecx);
        a.jnz(hexLoop);
        a.mov(__byte_ptr[esi], 0);
        a.mov(esi, ScratchAddress + 16);
        a.jmp(print);

        // printDecimal: EAX as an unsigned decimal number.
        Label decLoop = a.CreateLabel();
        a.Label(ref printDecimal);
        a.mov(esi, ScratchAddress + 63);
        a.mov(__byte_ptr[esi], 0);
        a.mov(ecx, 10);
        a.Label(ref decLoop);
        a.xor(edx, edx);
        a.div(ecx);
        a.add(dl, (byte)'0');
        a.dec(esi);
        a.mov(__byte_ptr[esi], dl);
        a.test(eax, eax);
        a.jnz(decLoop);
        a.jmp(print);

        // readCmos: BL = register; returns EAX = its value (NMI stays enabled: bit 7 clear).
        a.Label(ref readCmos);
        a.mov(al, bl);
        a.@out(0x70, al);
        a.@in(al, 0x71);
        a.movzx(eax, al);
        a.ret();
    }
}
