using System.Text;

namespace Virt.Machine.Debugging;

/// <summary>
/// A target description sent for <c>qXfer:features:read:target.xml</c> (GDB manual, Appendix G "Target Descriptions") and
/// the register layout of the <c>g</c>, <c>G</c>, <c>p</c> and <c>P</c> packets that goes with it: <see cref="I386"/>
/// (architecture i386) or <see cref="X86_64"/> (i386:x86-64). Both have the features gdb's i386 and amd64 architectures
/// require by name (G.5.1 "i386 Features"): org.gnu.gdb.i386.core (general, segment and x87 registers) and
/// org.gnu.gdb.i386.sse (XMM registers and MXCSR); the 64-bit one adds org.gnu.gdb.i386.segments (fs_base, gs_base) and
/// the system registers QEMU's x86-64 stub reports (k_gs_base, cr0, cr2, cr3, cr4, cr8, efer) in a feature of its own.
/// </summary>
/// <remarks>
/// Register numbers follow gdb's own order for each architecture (its <c>i386_regnum</c> and <c>amd64_regnum</c>), so a
/// gdb without the description would number them the same; every register carries its <c>regnum</c> anyway.
/// </remarks>
internal sealed class GdbTargetDescription
{
    /// <summary>The number of x87 data registers (st0-st7), each <see cref="X87DataRegisterSizeInBytes"/> bytes.</summary>
    public const int X87DataRegisterCount = 8;

    /// <summary>The size of an x87 data register in bytes.</summary>
    public const int X87DataRegisterSizeInBytes = 10;

    private const string CoreFeature = "org.gnu.gdb.i386.core";
    private const string SseFeature = "org.gnu.gdb.i386.sse";
    private const string SegmentsFeature = "org.gnu.gdb.i386.segments";
    private const string SystemFeature = "org.virt.gdb.i386.sys";

    private static readonly string[] s_x87ControlNames = ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"];

    private GdbTargetDescription(string architecture, bool is64Bit, IReadOnlyList<GdbRegister> registers)
    {
        Architecture = architecture;
        Is64Bit = is64Bit;
        Registers = registers;
        Xml = BuildXml();
    }

    /// <summary>The 32-bit description: eax-edi, eip, eflags, cs-gs, st0-st7, the x87 control registers, xmm0-xmm7, mxcsr.</summary>
    public static GdbTargetDescription I386 { get; } = new("i386", is64Bit: false, BuildRegisters(is64Bit: false));

    /// <summary>The 64-bit description: rax-r15, rip, eflags, cs-gs, the x87 registers, xmm0-xmm15, mxcsr, fs_base, gs_base and the system registers.</summary>
    public static GdbTargetDescription X86_64 { get; } = new("i386:x86-64", is64Bit: true, BuildRegisters(is64Bit: true));

    /// <summary>gdb's architecture name.</summary>
    public string Architecture { get; }

    /// <summary>Whether general registers and the instruction pointer are 64 bits wide.</summary>
    public bool Is64Bit { get; }

    /// <summary>The registers by number.</summary>
    public IReadOnlyList<GdbRegister> Registers { get; }

    /// <summary>The XML document.</summary>
    public string Xml { get; }

    private static List<GdbRegister> BuildRegisters(bool is64Bit)
    {
        var registers = new List<GdbRegister>();
        void Add(string name, int bits, string type, GdbRegisterKind kind, int index = 0, string feature = CoreFeature, string? group = null) =>
            registers.Add(new GdbRegister(registers.Count, name, bits, type, group, feature, kind, index));

        if (is64Bit)
        {
            // gdb's amd64 order: rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8-r15 (encodings 0, 3, 1, 2, 6, 7, 5, 4, 8-15).
            string[] names = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"];
            int[] encodings = [0, 3, 1, 2, 6, 7, 5, 4];
            for (int i = 0; i < names.Length; i++)
            {
                Add(names[i], 64, names[i] is "rbp" or "rsp" ? "data_ptr" : "int64", GdbRegisterKind.General, encodings[i]);
            }

            for (int i = 8; i < 16; i++)
            {
                Add($"r{i}", 64, "int64", GdbRegisterKind.General, i);
            }

            Add("rip", 64, "code_ptr", GdbRegisterKind.InstructionPointer);
        }
        else
        {
            string[] names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
            for (int i = 0; i < names.Length; i++)
            {
                Add(names[i], 32, names[i] is "ebp" or "esp" ? "data_ptr" : "int32", GdbRegisterKind.General, i);
            }

            Add("eip", 32, "code_ptr", GdbRegisterKind.InstructionPointer);
        }

        Add("eflags", 32, "i386_eflags", GdbRegisterKind.Flags);
        string[] segments = ["cs", "ss", "ds", "es", "fs", "gs"];
        for (int i = 0; i < segments.Length; i++)
        {
            Add(segments[i], 32, "int32", GdbRegisterKind.Segment, i);
        }

        for (int i = 0; i < X87DataRegisterCount; i++)
        {
            Add($"st{i}", X87DataRegisterSizeInBytes * 8, "i387_ext", GdbRegisterKind.X87Data, i);
        }

        for (int i = 0; i < s_x87ControlNames.Length; i++)
        {
            Add(s_x87ControlNames[i], 32, "int", GdbRegisterKind.X87Control, i, group: "float");
        }

        int xmmCount = is64Bit ? 16 : 8;
        for (int i = 0; i < xmmCount; i++)
        {
            Add($"xmm{i}", 128, "vec128", GdbRegisterKind.Xmm, i, SseFeature);
        }

        Add("mxcsr", 32, "i386_mxcsr", GdbRegisterKind.Mxcsr, feature: SseFeature, group: "vector");
        if (is64Bit)
        {
            Add("fs_base", 64, "int64", GdbRegisterKind.SegmentBase, 4, SegmentsFeature);
            Add("gs_base", 64, "int64", GdbRegisterKind.SegmentBase, 5, SegmentsFeature);
            Add("k_gs_base", 64, "int64", GdbRegisterKind.KernelGsBase, feature: SystemFeature, group: "system");
            foreach (int cr in (int[])[0, 2, 3, 4, 8])
            {
                Add($"cr{cr}", 64, "int64", GdbRegisterKind.Control, cr, SystemFeature, "system");
            }

            Add("efer", 64, "int64", GdbRegisterKind.Efer, feature: SystemFeature, group: "system");
        }

        return registers;
    }

    private string BuildXml()
    {
        var xml = new StringBuilder();
        xml.Append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        xml.Append("<architecture>").Append(Architecture).Append("</architecture>\n");
        string? open = null;
        foreach (GdbRegister register in Registers)
        {
            if (register.Feature != open)
            {
                if (open is not null)
                {
                    xml.Append("</feature>\n");
                }

                open = register.Feature;
                xml.Append("<feature name=\"").Append(open).Append("\">\n");
                AppendTypes(xml, open);
            }

            xml.Append($"<reg name=\"{register.Name}\" bitsize=\"{register.BitSize}\" type=\"{register.Type}\" regnum=\"{register.Number}\"");
            if (register.Group is { } group)
            {
                xml.Append($" group=\"{group}\"");
            }

            xml.Append("/>\n");
        }

        xml.Append("</feature>\n</target>\n");
        return xml.ToString();
    }

    /// <summary>The types a feature's registers use that gdb does not predefine (as gdb's own i386 feature files define them).</summary>
    private static void AppendTypes(StringBuilder xml, string feature)
    {
        switch (feature)
        {
            case CoreFeature:
                AppendFlags(xml, "i386_eflags", ["CF", string.Empty, "PF", string.Empty, "AF", string.Empty, "ZF", "SF", "TF", "IF", "DF", "OF", string.Empty, string.Empty, "NT", string.Empty, "RF", "VM", "AC", "VIF", "VIP", "ID"]);
                break;
            case SseFeature:
                xml.Append("<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n");
                xml.Append("<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n");
                xml.Append("<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n");
                xml.Append("<union id=\"vec128\">");
                xml.Append("<field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>");
                xml.Append("<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>");
                xml.Append("<field name=\"uint128\" type=\"uint128\"/></union>\n");
                AppendFlags(xml, "i386_mxcsr", ["IE", "DE", "ZE", "OE", "UE", "PE", "DAZ", "IM", "DM", "ZM", "OM", "UM", "PM", string.Empty, string.Empty, "FZ"]);
                break;
            default:
                break;
        }
    }

    private static void AppendFlags(StringBuilder xml, string id, string[] bits)
    {
        xml.Append($"<flags id=\"{id}\" size=\"4\">");
        for (int bit = 0; bit < bits.Length; bit++)
        {
            if (bits[bit].Length != 0)
            {
                xml.Append($"<field name=\"{bits[bit]}\" start=\"{bit}\" end=\"{bit}\"/>");
            }
        }

        xml.Append("</flags>\n");
    }
}
