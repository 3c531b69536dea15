using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests;

/// <summary>
/// Multiboot v1 kernels, linked at a chosen address as an ELF32 executable or in the a.out-kludge form, that report on
/// the debug console (port E9h) everything the boot loader handed them, one line per item:
/// <c>magic</c> (1 when EAX held 2BADB002h), <c>flags</c>, <c>mem_lower</c>, <c>mem_upper</c>, <c>cmdline</c>,
/// <c>loader</c>, <c>mods</c>, one <c>mod</c> line per module (size, 1 when page-aligned, its command line), one
/// <c>mmap</c> line per memory-map entry (base high and low, length high and low, type), and <c>placement</c>: bit 0
/// set when any of those structures, strings or modules overlaps the kernel's own memory, bit 1 when one lies outside
/// 500h-9FFFFh and 1 MiB up to the top of <c>mem_upper</c>. Then it writes the exit value to isa-debug-exit (501h).
/// Numbers are eight hex digits followed by a space.
/// </summary>
internal static class MultibootReportKernel
{
    /// <summary>The kernel's memory size (code, then bss): at 8000h it ends at A84Bh, the layout of the issue.</summary>
    public const uint MemorySizeInBytes = 0x284C;

    /// <summary>The value written to isa-debug-exit; the process exit status is twice this plus one.</summary>
    public const byte ExitValue = 0x2C;

    private const uint BootloaderMagic = 0x2BAD_B002;
    private const uint HeaderMagic = 0x1BAD_B002;
    private const uint FlagPageAlignModules = 1u << 0;
    private const uint FlagMemoryInfo = 1u << 1;
    private const uint FlagAddressFields = 1u << 16;

    /// <summary>Where the code starts, from the start of the kernel: after the Multiboot header (32 bytes with address fields).</summary>
    private const uint CodeOffset = 0x40;

    // Variables and the stack live in the kernel's bss at 2000h-27FFh from its start: at 8000h that is A000h-A7FFh, clear
    // of 9000h-95FFh, where QEMU writes its memory map and information structure whatever the kernel's address.
    private const uint UpperEndOffset = 0x2000;
    private const uint ModulesLeftOffset = 0x2004;
    private const uint MapEndOffset = 0x2008;
    private const uint StackTopOffset = 0x2800;

    /// <summary>The size of the information structure the kernel checks (up to boot_loader_name and the APM table pointer).</summary>
    private const int InfoSizeChecked = 88;

    /// <summary>Builds the kernel.</summary>
    /// <param name="loadAddress">The physical address the kernel is linked and loaded at.</param>
    /// <param name="elf">True for an ELF32 executable, false for the a.out kludge (address fields in the header).</param>
    /// <returns>The kernel file.</returns>
    public static byte[] Build(uint loadAddress, bool elf)
    {
        byte[] code = AssembleCode(loadAddress);
        return elf ? WrapElf(loadAddress, code) : WrapAddressFields(loadAddress, code);
    }

    /// <summary>Splits a report into its lines by their first word; the value is the rest of the line, trimmed.</summary>
    /// <param name="output">What the kernel wrote to the debug console.</param>
    /// <returns>The lines by name, in order.</returns>
    public static ILookup<string, string> Parse(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2))
            .ToLookup(parts => parts[0], parts => parts.Length > 1 ? parts[1].Trim() : string.Empty);

    private static byte[] AssembleCode(uint k)
    {
        uint kernelEnd = k + MemorySizeInBytes;
        var a = new Assembler(32);
        Label printHex = a.CreateLabel();
        Label printString = a.CreateLabel();
        Label check = a.CreateLabel();

        a.mov(esp, k + StackTopOffset);
        a.cmp(eax, BootloaderMagic);
        a.mov(eax, 0);
        a.sete(al);
        a.mov(esi, ebx);
        a.xor(ebp, ebp);
        a.push(eax);
        Say(a, "magic ");
        a.pop(eax);
        a.call(printHex);
        NewLine(a);

        // The top of mem_upper, for the validity check: 1 MiB + mem_upper KiB.
        a.mov(eax, __dword_ptr[esi + 8]);
        a.shl(eax, 10);
        a.add(eax, 0x10_0000);
        a.mov(__dword_ptr[k + UpperEndOffset], eax);

        PrintField(a, printHex, "flags ", 0);
        PrintField(a, printHex, "mem_lower ", 4);
        PrintField(a, printHex, "mem_upper ", 8);
        PrintCheckedString(a, printString, check, "cmdline ", 16);
        PrintCheckedString(a, printString, check, "loader ", 64);
        a.mov(eax, esi);
        a.mov(ecx, InfoSizeChecked);
        a.call(check);

        // Modules: the list, then each module and its string.
        PrintField(a, printHex, "mods ", 20);
        Label modulesDone = a.CreateLabel();
        Label moduleLoop = a.CreateLabel();
        a.mov(ecx, __dword_ptr[esi + 20]);
        a.test(ecx, ecx);
        a.jz(modulesDone);
        a.mov(__dword_ptr[k + ModulesLeftOffset], ecx);
        a.mov(ebx, __dword_ptr[esi + 24]);
        a.shl(ecx, 4);
        a.mov(eax, ebx);
        a.call(check);
        a.Label(ref moduleLoop);
        Say(a, "mod ");
        a.mov(eax, __dword_ptr[ebx + 4]);
        a.sub(eax, __dword_ptr[ebx]);
        a.call(printHex);
        a.mov(eax, __dword_ptr[ebx]);
        a.and(eax, 0xFFF);
        a.mov(eax, 0);
        a.sete(al);
        a.call(printHex);
        a.mov(eax, __dword_ptr[ebx]);
        a.mov(ecx, __dword_ptr[ebx + 4]);
        a.sub(ecx, eax);
        a.call(check);
        a.mov(edi, __dword_ptr[ebx + 8]);
        CheckedString(a, printString, check);
        NewLine(a);
        a.add(ebx, 16);
        a.dec(__dword_ptr[k + ModulesLeftOffset]);
        a.jnz(moduleLoop);
        a.Label(ref modulesDone);

        // The memory map: walk it by each entry's size field, as Multiboot 3.3 says a kernel must.
        Label mapLoop = a.CreateLabel();
        Label mapDone = a.CreateLabel();
        a.mov(ebx, __dword_ptr[esi + 48]);
        a.mov(ecx, __dword_ptr[esi + 44]);
        a.mov(eax, ebx);
        a.call(check);
        a.mov(eax, ebx);
        a.add(eax, __dword_ptr[esi + 44]);
        a.mov(__dword_ptr[k + MapEndOffset], eax);
        a.Label(ref mapLoop);
        a.cmp(ebx, __dword_ptr[k + MapEndOffset]);
        a.jae(mapDone);
        Say(a, "mmap ");
        foreach (int offset in new[] { 8, 4, 16, 12, 20 })
        {
            a.mov(eax, __dword_ptr[ebx + offset]);
            a.call(printHex);
        }

        NewLine(a);
        a.mov(eax, __dword_ptr[ebx]);
        a.lea(ebx, __dword_ptr[ebx + eax + 4]);
        a.jmp(mapLoop);
        a.Label(ref mapDone);

        Say(a, "placement ");
        a.mov(eax, ebp);
        a.call(printHex);
        NewLine(a);
        a.mov(dx, 0x501);
        a.mov(al, ExitValue);
        a.@out(dx, al);
        a.cli();
        a.hlt();

        // printString: EDI = a NUL-terminated string; prints it and leaves EDI at its NUL. Clobbers AL.
        Label stringDone = a.CreateLabel();
        a.Label(ref printString);
        a.mov(al, __byte_ptr[edi]);
        a.test(al, al);
        a.jz(stringDone);
        a.@out(0xE9, al);
        a.inc(edi);
        a.jmp(printString);
        a.Label(ref stringDone);
        a.ret();

        // check: EAX = start, ECX = length. Sets EBP bit 0 when [start, start + length) overlaps the kernel, bit 1
        // when it is not inside 500h-9FFFFh or 1 MiB to the top of mem_upper. Preserves everything else.
        Label notKernel = a.CreateLabel();
        Label fine = a.CreateLabel();
        Label outside = a.CreateLabel();
        a.Label(ref check);
        a.push(edx);
        a.lea(edx, __dword_ptr[eax + ecx]);
        a.cmp(eax, kernelEnd);
        a.jae(notKernel);
        a.cmp(edx, k);
        a.jbe(notKernel);
        a.or(ebp, 1);
        a.Label(ref notKernel);
        a.cmp(eax, 0x500);
        a.jb(outside);
        a.cmp(edx, 0xA_0000);
        a.jbe(fine);
        a.cmp(eax, 0x10_0000);
        a.jb(outside);
        a.cmp(edx, __dword_ptr[k + UpperEndOffset]);
        a.ja(outside);
        a.Label(ref fine);
        a.pop(edx);
        a.ret();
        a.Label(ref outside);
        a.or(ebp, 2);
        a.pop(edx);
        a.ret();

        DebugconCode.EmitPrintHex(a, printHex, ' ');

        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), k + CodeOffset);
        return stream.ToArray();
    }

    /// <summary>Prints "<paramref name="label"/>" and the dword at ESI + <paramref name="offset"/>, then a newline.</summary>
    private static void PrintField(Assembler a, Label printHex, string label, int offset)
    {
        Say(a, label);
        a.mov(eax, __dword_ptr[esi + offset]);
        a.call(printHex);
        NewLine(a);
    }

    /// <summary>Prints "<paramref name="label"/>" and the string the dword at ESI + <paramref name="offset"/> points to, checking its bytes.</summary>
    private static void PrintCheckedString(Assembler a, Label printString, Label check, string label, int offset)
    {
        Say(a, label);
        a.mov(edi, __dword_ptr[esi + offset]);
        CheckedString(a, printString, check);
        NewLine(a);
    }

    /// <summary>Prints the string at EDI and checks its bytes, NUL included.</summary>
    private static void CheckedString(Assembler a, Label printString, Label check)
    {
        a.push(edi);
        a.call(printString);
        a.mov(ecx, edi);
        a.pop(eax);
        a.sub(ecx, eax);
        a.inc(ecx);
        a.call(check);
    }

    private static void Say(Assembler a, string text)
    {
        foreach (char c in text)
        {
            a.mov(al, (byte)c);
            a.@out(0xE9, al);
        }
    }

    private static void NewLine(Assembler a) => Say(a, "\n");

    /// <summary>The a.out-kludge form: the header (with address fields) at file offset 0, loaded at <paramref name="k"/>.</summary>
    private static byte[] WrapAddressFields(uint k, byte[] code)
    {
        byte[] image = new byte[CodeOffset + code.Length];
        const uint flags = FlagPageAlignModules | FlagMemoryInfo | FlagAddressFields;
        Span<byte> h = image;
        BinaryPrimitives.WriteUInt32LittleEndian(h, HeaderMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], unchecked(0u - HeaderMagic - flags));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], k);                          // header_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], k);                          // load_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], k + (uint)image.Length);     // load_end_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], k + MemorySizeInBytes);      // bss_end_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], k + CodeOffset);             // entry_addr
        code.CopyTo(image, (int)CodeOffset);
        return image;
    }

    /// <summary>
    /// An ELF32 i386 executable (System V ABI: ELF header, one PT_LOAD program header) whose segment, at file offset
    /// 1000h, holds the Multiboot header and then the code; p_memsz covers the bss.
    /// </summary>
    private static byte[] WrapElf(uint k, byte[] code)
    {
        const int elfHeaderSize = 52;
        const int programHeaderSize = 32;
        const int segmentOffset = 0x1000;
        byte[] segment = new byte[CodeOffset + code.Length];
        const uint flags = FlagPageAlignModules | FlagMemoryInfo;
        BinaryPrimitives.WriteUInt32LittleEndian(segment, HeaderMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(segment.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(segment.AsSpan(8), unchecked(0u - HeaderMagic - flags));
        code.CopyTo(segment, (int)CodeOffset);

        byte[] f = new byte[segmentOffset + segment.Length];
        Span<byte> s = f;
        s[0] = 0x7F;
        s[1] = (byte)'E';
        s[2] = (byte)'L';
        s[3] = (byte)'F';
        s[4] = 1; // ELFCLASS32
        s[5] = 1; // ELFDATA2LSB
        s[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 3); // EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1); // e_version
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], k + CodeOffset); // e_entry
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], elfHeaderSize); // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(s[40..], elfHeaderSize); // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[42..], programHeaderSize); // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[44..], 1); // e_phnum
        Span<byte> ph = s.Slice(elfHeaderSize, programHeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1); // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], segmentOffset); // p_offset
        BinaryPrimitives.WriteUInt32LittleEndian(ph[8..], k); // p_vaddr
        BinaryPrimitives.WriteUInt32LittleEndian(ph[12..], k); // p_paddr
        BinaryPrimitives.WriteUInt32LittleEndian(ph[16..], (uint)segment.Length); // p_filesz
        BinaryPrimitives.WriteUInt32LittleEndian(ph[20..], MemorySizeInBytes); // p_memsz
        BinaryPrimitives.WriteUInt32LittleEndian(ph[24..], 7); // p_flags: RWX
        BinaryPrimitives.WriteUInt32LittleEndian(ph[28..], 0x1000); // p_align
        segment.CopyTo(f, segmentOffset);
        return f;
    }
}
