using System.Buffers.Binary;
using System.Text;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// A minimal ELF64 x86-64 executable for gdb's <c>file</c>: a .text and a .data section with their bytes at their load
/// addresses and a symbol table (functions in .text, objects in .data), no program headers and no debug information
/// (System V ABI, "Object Files": ELF header, section header table, symbol table). Enough for <c>break name</c>,
/// <c>&amp;name</c> and symbolic addresses in gdb's output.
/// </summary>
internal static class ElfSymbolFile
{
    private const int HeaderSize = 64;
    private const int SectionHeaderSize = 64;
    private const int SymbolSize = 24;
    private const ushort TypeExecutable = 2;
    private const ushort MachineX86_64 = 62;
    private const uint SectionProgramBits = 1;
    private const uint SectionSymbolTable = 2;
    private const uint SectionStringTable = 3;
    private const ulong FlagWrite = 1;
    private const ulong FlagAlloc = 2;
    private const ulong FlagExecute = 4;
    private const byte BindGlobal = 1;
    private const byte TypeObject = 1;
    private const byte TypeFunction = 2;
    private const ushort TextSectionIndex = 1;
    private const ushort DataSectionIndex = 2;

    /// <summary>Builds the file.</summary>
    /// <param name="entry">The entry address.</param>
    /// <param name="textAddress">Where .text is loaded.</param>
    /// <param name="text">Its bytes.</param>
    /// <param name="dataAddress">Where .data is loaded.</param>
    /// <param name="data">Its bytes.</param>
    /// <param name="symbols">Name, address and size; a symbol inside .text is a function, one inside .data an object.</param>
    /// <returns>The file's bytes.</returns>
    public static byte[] Build(ulong entry, ulong textAddress, byte[] text, ulong dataAddress, byte[] data, IReadOnlyList<(string Name, ulong Address, ulong Size)> symbols)
    {
        var strings = new MemoryStream();
        strings.WriteByte(0);
        var symbolTable = new byte[SymbolSize * (symbols.Count + 1)];
        for (int i = 0; i < symbols.Count; i++)
        {
            (string name, ulong address, ulong size) = symbols[i];
            bool isText = address >= textAddress && address < textAddress + (ulong)text.Length;
            Span<byte> s = symbolTable.AsSpan(SymbolSize * (i + 1), SymbolSize);
            BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)strings.Length);
            s[4] = (byte)((BindGlobal << 4) | (isText ? TypeFunction : TypeObject));
            BinaryPrimitives.WriteUInt16LittleEndian(s[6..], isText ? TextSectionIndex : DataSectionIndex);
            BinaryPrimitives.WriteUInt64LittleEndian(s[8..], address);
            BinaryPrimitives.WriteUInt64LittleEndian(s[16..], size);
            strings.Write(Encoding.ASCII.GetBytes(name + "\0"));
        }

        byte[] names = Encoding.ASCII.GetBytes("\0.text\0.data\0.symtab\0.strtab\0.shstrtab\0");
        byte[] stringTable = strings.ToArray();

        // File layout: header, .text, .data, .symtab, .strtab, .shstrtab, section headers (each 16-byte aligned).
        int textOffset = HeaderSize;
        int dataOffset = Align(textOffset + text.Length);
        int symbolOffset = Align(dataOffset + data.Length);
        int stringOffset = Align(symbolOffset + symbolTable.Length);
        int namesOffset = Align(stringOffset + stringTable.Length);
        int sectionsOffset = Align(namesOffset + names.Length);
        const int sectionCount = 6;
        byte[] file = new byte[sectionsOffset + (sectionCount * SectionHeaderSize)];
        Span<byte> h = file;
        h[0] = 0x7F;
        h[1] = (byte)'E';
        h[2] = (byte)'L';
        h[3] = (byte)'F';
        h[4] = 2; // ELFCLASS64
        h[5] = 1; // little-endian
        h[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], TypeExecutable);
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], MachineX86_64);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], entry);
        BinaryPrimitives.WriteUInt64LittleEndian(h[40..], (ulong)sectionsOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(h[52..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[58..], SectionHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[60..], sectionCount);
        BinaryPrimitives.WriteUInt16LittleEndian(h[62..], sectionCount - 1);
        text.CopyTo(file, textOffset);
        data.CopyTo(file, dataOffset);
        symbolTable.CopyTo(file, symbolOffset);
        stringTable.CopyTo(file, stringOffset);
        names.CopyTo(file, namesOffset);

        Section(1, name: 1, SectionProgramBits, FlagAlloc | FlagExecute, textAddress, textOffset, text.Length, link: 0, info: 0, entrySize: 0);
        Section(2, name: 7, SectionProgramBits, FlagAlloc | FlagWrite, dataAddress, dataOffset, data.Length, link: 0, info: 0, entrySize: 0);
        Section(3, name: 13, SectionSymbolTable, 0, 0, symbolOffset, symbolTable.Length, link: 4, info: 1, entrySize: SymbolSize);
        Section(4, name: 21, SectionStringTable, 0, 0, stringOffset, stringTable.Length, link: 0, info: 0, entrySize: 0);
        Section(5, name: 29, SectionStringTable, 0, 0, namesOffset, names.Length, link: 0, info: 0, entrySize: 0);
        return file;

        void Section(int index, uint name, uint type, ulong flags, ulong address, int offset, int size, uint link, uint info, int entrySize)
        {
            Span<byte> s = file.AsSpan(sectionsOffset + (index * SectionHeaderSize), SectionHeaderSize);
            BinaryPrimitives.WriteUInt32LittleEndian(s, name);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], type);
            BinaryPrimitives.WriteUInt64LittleEndian(s[8..], flags);
            BinaryPrimitives.WriteUInt64LittleEndian(s[16..], address);
            BinaryPrimitives.WriteUInt64LittleEndian(s[24..], (ulong)offset);
            BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (ulong)size);
            BinaryPrimitives.WriteUInt32LittleEndian(s[40..], link);
            BinaryPrimitives.WriteUInt32LittleEndian(s[44..], info);
            BinaryPrimitives.WriteUInt64LittleEndian(s[48..], type == SectionProgramBits ? 16UL : 1UL);
            BinaryPrimitives.WriteUInt64LittleEndian(s[56..], (ulong)entrySize);
        }
    }

    private static int Align(int offset) => (offset + 15) & ~15;
}
